"""A MAD-X subset reader for ImpactX 26.10's ``RefPart.load_file`` and ``lattice.load_file``.

What it reads (case-insensitive, as MAD-X): ``!`` and ``//`` line comments, ``/* */`` comments,
``TITLE``, variables (``name = expr;`` / ``name := expr;``, arithmetic with ``+ - * / ^``, ``pi``, ``e``
and sqrt/exp/log/sin/cos/tan/asin/acos/atan/abs), ``BEAM`` (PARTICLE, ENERGY / PC / GAMMA, MASS, CHARGE),
element definitions (``label: TYPE, attr=value, ...``; TYPE may be an earlier label, whose attributes
are inherited), ``LINE = (a, 2*b, 3*(c, d))`` and ``USE, SEQUENCE|PERIOD = name``.

Element types and the ImpactX elements they become (as ImpactX 26.10's translator, measured with its
``read_lattice``): MARKER -> Marker; DRIFT (L > 0) -> Drift; QUADRUPOLE (L > 0) -> Quad, or ExactMultipole
with K1S; SBEND (L > 0, ANGLE != 0) -> Sbend / CFbend (K1) with DipEdge at the entry (E1, FINT, HGAP) and
exit (E2, FINTX) when any edge term is nonzero; DIPEDGE -> DipEdge (rc = 1/H, g = 2 HGAP, K2 = FINT), or
Marker when H = 0; SOLENOID (L > 0) -> Sol (KS, or KSI / L); KICKER / TKICKER / HKICKER / VKICKER -> Kicker
(between two half-length drifts when L > 0); MONITOR / HMONITOR / VMONITOR -> Drift(L) when L > 0, then
BeamMonitor(name, backend="h5"). TILT [rad] becomes ImpactX's rotation [deg]. Names are lower-cased.
Anything else (another statement, element type or attribute, BV != 1) raises NotImplementedError
naming it; nothing is dropped silently.

Species masses are ImpactX 26.10's MAD-X reader's: CODATA 2018 masses in kg converted with c and e
(electron 0.51099894999616 MeV, proton 938.27208816049 MeV), which differ from beamtrack's constants
in the 11th digit.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: CODATA 2018 masses [kg], c [m/s], e [C]: ImpactX 26.10's MAD-X reader converts these to MeV
_C = 299792458.0
_E = 1.602176634e-19
_KG_TO_MEV = _C * _C / _E * 1e-6
_ME_MEV = 9.1093837015e-31 * _KG_TO_MEV
_MP_MEV = 1.67262192369e-27 * _KG_TO_MEV
_MMU_MEV = _ME_MEV / 0.00483633169  # CODATA 2018 electron-muon mass ratio
_MN_MEV = 939.56542052  # MAD-X's ION mass: the neutron mass (mad_dict.c)

#: MAD-X PARTICLE -> (rest energy [MeV], charge [e])
PARTICLES: dict[str, tuple[float, float]] = {
    "electron": (_ME_MEV, -1.0),
    "positron": (_ME_MEV, 1.0),
    "proton": (_MP_MEV, 1.0),
    "antiproton": (_MP_MEV, -1.0),
    "posmuon": (_MMU_MEV, 1.0),
    "negmuon": (_MMU_MEV, -1.0),
    "ion": (_MN_MEV, 1.0),
}

#: MAD-X's element keywords (a label may reuse one: ``monitor: MONITOR``); those read here are in the docstring
BASE_TYPES = frozenset(
    "marker drift sbend rbend quadrupole sextupole octupole multipole solenoid hkicker vkicker kicker tkicker "
    "rfcavity twcavity elseparator monitor hmonitor vmonitor instrument placeholder collimator ecollimator "
    "rcollimator yrotation srotation translation crabcavity dipedge changeref nllens beambeam matrix".split()
)

_FUNCS: dict[str, Any] = {
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "abs": abs,
}
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


class MadxError(ValueError):
    """A MAD-X file this reader cannot make sense of (syntax, undefined names)."""


@dataclass
class MadxBeam:
    """The BEAM command: particle, total energy [GeV] (MAD-X's default 1 GeV), optional mass [GeV] and charge [e]."""

    particle: str | None = None
    energy_GeV: float | None = None
    pc_GeV: float | None = None
    gamma: float | None = None
    mass_GeV: float | None = None
    charge: float | None = None
    bv: float = 1.0

    def mass_charge(self) -> tuple[float, float]:
        """Rest energy [MeV] and charge [e]: the particle's, else MASS and CHARGE as given."""
        if self.particle is not None and self.particle in PARTICLES:
            return PARTICLES[self.particle]
        if self.mass_GeV is None or self.charge is None:
            raise NotImplementedError(
                f"MAD-X BEAM PARTICLE={self.particle!r}: a particle beamtrack does not know needs MASS and CHARGE"
            )
        return self.mass_GeV * 1e3, self.charge

    def total_energy_MeV(self) -> float:
        mass, _ = self.mass_charge()
        if self.energy_GeV is not None:
            return self.energy_GeV * 1e3
        if self.pc_GeV is not None:
            return math.hypot(self.pc_GeV * 1e3, mass)
        if self.gamma is not None:
            return self.gamma * mass
        return 1e3  # MAD-X's default: ENERGY = 1 GeV


@dataclass
class MadxFile:
    """A parsed MAD-X file: variables, BEAM, element definitions {label: (type, attrs)}, lines, USE."""

    variables: dict[str, float] = field(default_factory=dict)
    beam: MadxBeam = field(default_factory=MadxBeam)
    definitions: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)
    use: str | None = None

    def beamline(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The USEd line expanded into (name, base type, attributes) per element, in order."""
        if self.use is None:
            raise MadxError("the MAD-X file has no USE, SEQUENCE=... (or PERIOD=...) statement")
        out: list[tuple[str, str, dict[str, Any]]] = []
        self._expand(self.use, out, depth=0)
        return out

    def _expand(self, name: str, out: list[tuple[str, str, dict[str, Any]]], depth: int) -> None:
        if depth > 100:
            raise MadxError(f"MAD-X line {name!r} contains itself")
        if name in self.lines:
            for item in self.lines[name]:
                self._expand(item, out, depth + 1)
            return
        if name not in self.definitions:
            raise MadxError(f"MAD-X line element {name!r} is not defined")
        base, attrs = self._resolve(name)
        out.append((name, base, attrs))

    def _resolve(self, name: str) -> tuple[str, dict[str, Any]]:
        """Base element type and the attributes inherited along ``label: other_label, ...`` chains."""
        typ, attrs = self.definitions[name]
        chain = [attrs]
        while typ not in BASE_TYPES and typ in self.definitions:
            typ, attrs = self.definitions[typ]
            chain.append(attrs)
            if len(chain) > 100:
                raise MadxError(f"MAD-X element {name!r} derives from itself")
        merged: dict[str, Any] = {}
        for attrs in reversed(chain):
            merged.update(attrs)
        return typ, merged


def parse(path: str | Path) -> MadxFile:
    """Read a MAD-X file (the subset in this module's docstring)."""
    text = Path(path).read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"(!|//)[^\n]*", " ", text)
    mf = MadxFile()
    for raw in text.split(";"):
        stmt = " ".join(raw.split())
        if stmt:
            _statement(mf, stmt)
    return mf


def _statement(mf: MadxFile, stmt: str) -> None:
    low = stmt.lower()
    m = re.fullmatch(r"([a-z_][\w.]*)\s*:?=\s*(.+)", low)
    if m and not re.match(r"\s*(beam|use|title)\b", low):
        mf.variables[m.group(1)] = _eval(m.group(2), mf.variables)
        return
    head, _, rest = low.partition(",")
    head = head.strip()
    if re.match(r"title\b", low):
        return
    if head == "beam":
        _beam(mf, _attributes(rest, mf.variables))
        return
    if head == "use":
        attrs = _attributes(rest, mf.variables, raw_names=("sequence", "period"))
        seq = attrs.pop("sequence", None) or attrs.pop("period", None)
        if seq is None or attrs:
            raise NotImplementedError(f"MAD-X statement {stmt!r}: USE takes SEQUENCE= or PERIOD= only in beamtrack")
        mf.use = str(seq)
        return
    m = re.fullmatch(r"([a-z_][\w.]*)\s*:\s*line\s*=\s*\((.*)\)", low)
    if m:
        mf.lines[m.group(1)] = _line_items(m.group(2), mf.variables)
        return
    m = re.fullmatch(r"([a-z_][\w.]*)\s*:\s*([a-z_][\w.]*)\s*(?:,(.*))?", low)
    if m:
        mf.definitions[m.group(1)] = (m.group(2), _attributes(m.group(3) or "", mf.variables))
        return
    raise NotImplementedError(f"MAD-X statement {stmt!r} is not implemented in beamtrack's MAD-X reader")


def _beam(mf: MadxFile, attrs: dict[str, Any]) -> None:
    b = mf.beam
    for key, value in attrs.items():
        if key == "particle":
            b.particle = str(value)
        elif key == "energy":
            b.energy_GeV = float(value)
        elif key == "pc":
            b.pc_GeV = float(value)
        elif key == "gamma":
            b.gamma = float(value)
        elif key == "mass":
            b.mass_GeV = float(value)
        elif key == "charge":
            b.charge = float(value)
        elif key == "bv":
            b.bv = float(value)
        else:
            raise NotImplementedError(f"MAD-X BEAM attribute {key.upper()} is not implemented in beamtrack")


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses and braces."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [s.strip() for s in out if s.strip()]


def _attributes(text: str, variables: dict[str, float], raw_names: tuple[str, ...] = ("particle",)) -> dict[str, Any]:
    """``a=1, b:=2*x, c={1, 2}`` -> {name: float | [floats] | str (for raw_names)}."""
    out: dict[str, Any] = {}
    for item in _split_top(text):
        m = re.fullmatch(r"([a-z_][\w.]*)\s*:?=\s*(.+)", item)
        if not m:
            raise NotImplementedError(f"MAD-X attribute {item!r} (a flag without a value) is not implemented")
        key, value = m.group(1), m.group(2).strip()
        if key in raw_names:
            out[key] = value.strip("\"'")
        elif value.startswith("{"):
            out[key] = [_eval(v, variables) for v in _split_top(value.strip("{}"))]
        else:
            out[key] = _eval(value, variables)
    return out


def _line_items(text: str, variables: dict[str, float]) -> list[str]:
    """``a, 2*b, 3*(c, d)`` -> [a, b, b, c, d, c, d, c, d] (element or line names)."""
    out: list[str] = []
    for item in _split_top(text):
        m = re.fullmatch(r"(?:(\w+)\s*\*\s*)?(\(.*\)|-?[a-z_][\w.]*)", item)
        if not m:
            raise MadxError(f"MAD-X line item {item!r} is not understood")
        n = int(_eval(m.group(1), variables)) if m.group(1) else 1
        body = m.group(2)
        if body.startswith("-"):
            raise NotImplementedError(f"MAD-X reflected line {body!r} is not implemented in beamtrack")
        items = _line_items(body[1:-1], variables) if body.startswith("(") else [body]
        out.extend(items * n)
    return out


def _eval(expr: str, variables: dict[str, float]) -> float:
    """A MAD-X arithmetic expression (``^`` is the power) over numbers and defined variables."""
    try:
        tree = ast.parse(expr.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise MadxError(f"MAD-X expression {expr!r} is not understood") from None
    names = {"pi": math.pi, "twopi": 2 * math.pi, "e": math.e, **variables}

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise MadxError(f"MAD-X expression {expr!r}: {node.id!r} is not defined")
            return float(names[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return float(_BINOPS[type(node.op)](ev(node.left), ev(node.right)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            return float(_FUNCS[node.func.id](*(ev(a) for a in node.args)))
        raise MadxError(f"MAD-X expression {expr!r} is not understood")

    return ev(tree)


# --- the ImpactX side ---------------------------------------------------------------------------


def load_reference(ref: Any, path: str | Path) -> Any:
    """Set ``ref``'s charge, mass and kinetic energy from the file's BEAM (ImpactX's RefPart.load_file)."""
    beam = parse(path).beam
    mass, charge = beam.mass_charge()
    ref.set_charge_qe(charge)
    ref.set_mass_MeV(mass)
    ref.set_kin_energy_MeV(beam.total_energy_MeV() - mass)
    return ref


def load_lattice(path: str | Path, nslice: int = 1) -> list[Any]:
    """The USEd line of a MAD-X file as ImpactX elements (this module's docstring lists the mapping)."""
    mf = parse(path)
    if mf.beam.bv != 1.0:
        raise NotImplementedError(f"MAD-X BEAM BV={mf.beam.bv} (reversed magnet polarities) is not implemented")
    out: list[Any] = []
    for name, typ, attrs in mf.beamline():
        out.extend(_translate(name, typ, _Attrs(name, typ, attrs), nslice))
    return out


class _Attrs:
    """An element's attributes; the ones never read must be zero (else NotImplementedError names them)."""

    def __init__(self, name: str, typ: str, values: dict[str, Any]):
        self.name, self.typ, self.values = name, typ, values
        self.read: set[str] = set()

    def get(self, key: str, default: float = 0.0) -> Any:
        self.read.add(key)
        return self.values.get(key, default)

    def has(self, key: str) -> bool:
        self.read.add(key)
        return key in self.values

    def check_all_read(self) -> None:
        for key, value in self.values.items():
            if key not in self.read and key not in ("at", "from", "lrad") and value not in (0.0, [], None):
                raise NotImplementedError(
                    f"MAD-X {self.typ.upper()} attribute {key.upper()} (element {self.name!r}) is not implemented "
                    "in beamtrack's MAD-X reader"
                )


def _translate(name: str, typ: str, a: _Attrs, nslice: int) -> list[Any]:
    from . import elements as el

    deg = 180.0 / math.pi
    out: list[Any] = []

    def thin_with_length(element: Any, length: float) -> None:
        if length > 0.0:
            out.append(el.Drift(ds=0.5 * length, nslice=nslice, name=f"{name}_drift_in"))
            out.append(element)
            out.append(el.Drift(ds=0.5 * length, nslice=nslice, name=f"{name}_drift_out"))
        else:
            out.append(element)

    def dipedge(edge_name: str, psi: float, rc: float, g: float, k2: float, location: str, rot: float) -> Any:
        return el.DipEdge(psi=psi, rc=rc, g=g, K2=k2, location=location, rotation=rot, name=edge_name)

    length = float(a.get("l"))
    rot = float(a.get("tilt")) * deg
    if typ == "marker":
        out.append(el.Marker(name))
    elif typ == "drift":
        if length > 0.0:
            out.append(el.Drift(ds=length, nslice=nslice, name=name))
    elif typ == "quadrupole":
        k1, k1s = float(a.get("k1")), float(a.get("k1s"))
        if length <= 0.0:
            raise NotImplementedError(f"MAD-X QUADRUPOLE {name!r} with L = 0 is not implemented")
        if k1s != 0.0:
            out.append(
                el.ExactMultipole(
                    ds=length, k_normal=[0.0, k1], k_skew=[0.0, k1s], rotation=rot, nslice=nslice, name=name
                )
            )
        else:
            out.append(el.Quad(ds=length, k=k1, rotation=rot, nslice=nslice, name=name))
    elif typ == "sbend":
        angle, k1 = float(a.get("angle")), float(a.get("k1"))
        e1, e2, hgap, fint = (float(a.get(k)) for k in ("e1", "e2", "hgap", "fint"))
        fintx = float(a.get("fintx", -1.0))
        fintx = fint if fintx < 0.0 else fintx
        if length <= 0.0 or angle == 0.0:
            raise NotImplementedError(f"MAD-X SBEND {name!r} with L = 0 or ANGLE = 0 is not implemented")
        rc = length / angle
        edges = any(v != 0.0 for v in (e1, e2, fint, fintx))
        if edges:
            out.append(dipedge(f"{name}_edge_entry", e1, rc, 2.0 * hgap, fint, "entry", rot))
        if k1 != 0.0:
            out.append(el.CFbend(ds=length, rc=rc, k=k1, rotation=rot, nslice=nslice, name=name))
        else:
            out.append(el.Sbend(ds=length, rc=rc, rotation=rot, nslice=nslice, name=name))
        if edges:
            out.append(dipedge(f"{name}_edge_exit", e2, rc, 2.0 * hgap, fintx, "exit", rot))
    elif typ == "dipedge":
        h = float(a.get("h"))
        location = "entry" if a.get("entrance", 1.0) else "exit"
        if h == 0.0:
            for key in ("e1", "fint", "hgap", "he"):
                a.get(key)
            out.append(el.Marker(name))
        else:
            psi, hgap, fint = float(a.get("e1")), float(a.get("hgap")), float(a.get("fint"))
            out.append(dipedge(name, psi, 1.0 / h, 2.0 * hgap, fint, location, rot))
    elif typ == "solenoid":
        ks, ksi = float(a.get("ks")), float(a.get("ksi"))
        if length <= 0.0:
            raise NotImplementedError(f"MAD-X SOLENOID {name!r} with L = 0 (thin solenoid) is not implemented")
        if ks == 0.0 and ksi != 0.0:
            ks = ksi / length
        elif ksi != 0.0:
            raise NotImplementedError(f"MAD-X SOLENOID {name!r} with both KS and KSI is not implemented")
        out.append(el.Sol(ds=length, ks=ks, rotation=rot, nslice=nslice, name=name))
    elif typ in ("kicker", "tkicker", "hkicker", "vkicker"):
        if typ in ("kicker", "tkicker"):
            xkick = float(a.get("hkick")) + float(a.get("chkick"))
            ykick = float(a.get("vkick")) + float(a.get("cvkick"))
        elif typ == "hkicker":
            xkick = float(a.get("kick")) or float(a.get("hkick"))
            xkick += float(a.get("chkick"))
            ykick = 0.0
        else:
            ykick = float(a.get("kick")) or float(a.get("vkick"))
            ykick += float(a.get("cvkick"))
            xkick = 0.0
        thin_with_length(el.Kicker(xkick=xkick, ykick=ykick, rotation=rot, name=name), length)
    elif typ in ("monitor", "hmonitor", "vmonitor"):
        if length > 0.0:
            out.append(el.Drift(ds=length, nslice=nslice, name=f"{name}_drift"))
        out.append(el.BeamMonitor(name, backend="h5"))
    else:
        raise NotImplementedError(
            f"MAD-X element type {typ.upper()} (element {name!r}) is not implemented in beamtrack's MAD-X reader"
        )
    a.check_all_read()
    return out
