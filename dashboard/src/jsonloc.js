// Where a field of a JSON document sits in its text, so a validation error's `loc` can be shown
// at the field: locate(text, ['lattice', 'elements', 1, 'ds']) -> {start, end, line} or null.

/** 'spec.lattice.elements[1].ds' -> ['spec', 'lattice', 'elements', 1, 'ds'] */
export function splitLoc(loc) {
  const parts = [];
  for (const m of loc.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    parts.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  }
  return parts;
}

export function locate(text, path) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const str = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  // skips one value, or descends into it while it lies on `path`; returns the found span
  const value = (depth) => {
    ws();
    const start = i;
    const here = depth === path.length;
    let found = null;
    if (text[i] === '{') {
      i++;
      ws();
      while (text[i] !== '}' && i < text.length) {
        ws();
        const keyStart = i;
        const key = str();
        ws();
        i++; // ':'
        const sub = value(depth + 1);
        if (!here && !found && path[depth] === key) found = sub || { start: keyStart, end: i };
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (text[i] === '[') {
      i++;
      let n = 0;
      ws();
      while (text[i] !== ']' && i < text.length) {
        const sub = value(depth + 1);
        if (!here && !found && path[depth] === n) found = sub;
        n++;
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (text[i] === '"') {
      str();
    } else {
      while (i < text.length && !',}] \t\r\n'.includes(text[i])) i++;
    }
    if (here) return { start, end: i };
    return found;
  };
  try {
    const span = value(0);
    if (!span) return null;
    return { ...span, line: text.slice(0, span.start).split('\n').length };
  } catch {
    return null;
  }
}
