"""What the SDK returns: the job contract's models (``beamtrack.spec.contract``), read by attribute
(``job.state``, ``job.progress.fraction``) and, for scripts written against the earlier dict answers,
by key (``job["state"]``). ``dict(job)`` or ``job.model_dump()`` give a plain dict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from beamtrack.spec.contract import Artifact as ArtifactModel
from beamtrack.spec.contract import JobPublic, Progress, TwissPublic

if TYPE_CHECKING:
    import pandas as pd


class ItemAccess:
    """``model["field"]`` and ``model.get("field", default)`` on a pydantic model's fields."""

    def _has(self, key: str) -> bool:
        return key in getattr(type(self), "model_fields", {})

    def __getitem__(self, key: str) -> Any:
        if self._has(key):
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when the model has no such field."""
        return getattr(self, key) if self._has(key) else default


class JobProgress(ItemAccess, Progress):
    """How far a job is: ``step`` of ``total_steps``, ``fraction`` [1]."""


class Job(ItemAccess, JobPublic):
    """A job as the service shows it (``JobPublic``): id, state, progress, result, ..."""

    progress: JobProgress


class Artifact(ItemAccess, ArtifactModel):
    """One output file of a job: ``name`` (relative path) and ``size`` [bytes]."""


class Twiss(ItemAccess, TwissPublic):
    """A job's Twiss table (``TwissPublic``); ``to_pandas()`` gives it as a DataFrame with the
    scalars (qx, qy, dqx, ...) in ``attrs``."""

    def to_pandas(self) -> pd.DataFrame:
        """The table as a DataFrame (non-finite entries, sent as null, become NaN); pandas is
        imported here, not by the client."""
        import numpy as np
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=self.columns)
        numeric = [c for c in df.columns if c not in ("name", "element_type")]
        df[numeric] = df[numeric].astype(float)
        df.attrs.update({k: (np.nan if v is None else v) for k, v in self.scalars.items()})
        return df
