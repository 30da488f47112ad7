from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState

class SubmitJobRequest(_message.Message):
    __slots__ = ("spec_json", "priority", "device", "hook_module")
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    HOOK_MODULE_FIELD_NUMBER: _ClassVar[int]
    spec_json: str
    priority: int
    device: str
    hook_module: str
    def __init__(self, spec_json: _Optional[str] = ..., priority: _Optional[int] = ..., device: _Optional[str] = ..., hook_module: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("state", "limit", "cursor")
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    limit: int
    cursor: str
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_cursor")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_cursor: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "owner", "name", "state", "priority", "device", "step", "total_steps", "created_at", "started_at", "finished_at", "attempts", "error", "cancel_requested", "result_json", "artifacts_expired", "scan_id", "variant", "values_json", "cached_from")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    SCAN_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    VALUES_JSON_FIELD_NUMBER: _ClassVar[int]
    CACHED_FROM_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    name: str
    state: JobState
    priority: int
    device: str
    step: int
    total_steps: int
    created_at: float
    started_at: float
    finished_at: float
    attempts: int
    error: str
    cancel_requested: bool
    result_json: str
    artifacts_expired: bool
    scan_id: str
    variant: int
    values_json: str
    cached_from: str
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., priority: _Optional[int] = ..., device: _Optional[str] = ..., step: _Optional[int] = ..., total_steps: _Optional[int] = ..., created_at: _Optional[float] = ..., started_at: _Optional[float] = ..., finished_at: _Optional[float] = ..., attempts: _Optional[int] = ..., error: _Optional[str] = ..., cancel_requested: _Optional[bool] = ..., result_json: _Optional[str] = ..., artifacts_expired: _Optional[bool] = ..., scan_id: _Optional[str] = ..., variant: _Optional[int] = ..., values_json: _Optional[str] = ..., cached_from: _Optional[str] = ...) -> None: ...

class StreamDiagnosticsRequest(_message.Message):
    __slots__ = ("id", "after_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    after_id: str
    def __init__(self, id: _Optional[str] = ..., after_id: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("id", "state", "diagnostics", "custom", "log", "result")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: StateChange
    diagnostics: DiagnosticsRow
    custom: CustomValue
    log: LogLine
    result: JobResult
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[StateChange, _Mapping]] = ..., diagnostics: _Optional[_Union[DiagnosticsRow, _Mapping]] = ..., custom: _Optional[_Union[CustomValue, _Mapping]] = ..., log: _Optional[_Union[LogLine, _Mapping]] = ..., result: _Optional[_Union[JobResult, _Mapping]] = ...) -> None: ...

class JobEventBatch(_message.Message):
    __slots__ = ("events", "columns")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[JobEvent]
    columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, events: _Optional[_Iterable[_Union[JobEvent, _Mapping]]] = ..., columns: _Optional[_Iterable[str]] = ...) -> None: ...

class StateChange(_message.Message):
    __slots__ = ("state", "attempt", "reason")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    attempt: int
    reason: str
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., attempt: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class DiagnosticsRow(_message.Message):
    __slots__ = ("step", "s", "values", "data")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    S_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    step: int
    s: float
    values: _containers.ScalarMap[str, float]
    data: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, step: _Optional[int] = ..., s: _Optional[float] = ..., values: _Optional[_Mapping[str, float]] = ..., data: _Optional[_Iterable[float]] = ...) -> None: ...

class CustomValue(_message.Message):
    __slots__ = ("name", "value", "step")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    step: int
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., step: _Optional[int] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class JobResult(_message.Message):
    __slots__ = ("state", "error", "steps", "wall_time_s", "artifacts")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_S_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    error: str
    steps: int
    wall_time_s: float
    artifacts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., error: _Optional[str] = ..., steps: _Optional[int] = ..., wall_time_s: _Optional[float] = ..., artifacts: _Optional[_Iterable[str]] = ...) -> None: ...

class SubmitScanRequest(_message.Message):
    __slots__ = ("scan_json", "priority", "device", "hook_module")
    SCAN_JSON_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    HOOK_MODULE_FIELD_NUMBER: _ClassVar[int]
    scan_json: str
    priority: int
    device: str
    hook_module: str
    def __init__(self, scan_json: _Optional[str] = ..., priority: _Optional[int] = ..., device: _Optional[str] = ..., hook_module: _Optional[str] = ...) -> None: ...

class GetScanRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListScansRequest(_message.Message):
    __slots__ = ("limit", "cursor")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    limit: int
    cursor: str
    def __init__(self, limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListScansResponse(_message.Message):
    __slots__ = ("scans", "next_cursor")
    SCANS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    scans: _containers.RepeatedCompositeFieldContainer[Scan]
    next_cursor: str
    def __init__(self, scans: _Optional[_Iterable[_Union[Scan, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ScanCounts(_message.Message):
    __slots__ = ("queued", "running", "succeeded", "failed", "cancelled")
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int
    def __init__(self, queued: _Optional[int] = ..., running: _Optional[int] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class Scan(_message.Message):
    __slots__ = ("id", "owner", "name", "state", "variants", "counts", "parameters", "priority", "device", "created_at", "cancel_requested")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    name: str
    state: JobState
    variants: int
    counts: ScanCounts
    parameters: _containers.RepeatedScalarFieldContainer[str]
    priority: int
    device: str
    created_at: float
    cancel_requested: bool
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., variants: _Optional[int] = ..., counts: _Optional[_Union[ScanCounts, _Mapping]] = ..., parameters: _Optional[_Iterable[str]] = ..., priority: _Optional[int] = ..., device: _Optional[str] = ..., created_at: _Optional[float] = ..., cancel_requested: _Optional[bool] = ...) -> None: ...

class ScanResults(_message.Message):
    __slots__ = ("scan_id", "columns", "rows_json")
    SCAN_ID_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ROWS_JSON_FIELD_NUMBER: _ClassVar[int]
    scan_id: str
    columns: _containers.RepeatedScalarFieldContainer[str]
    rows_json: str
    def __init__(self, scan_id: _Optional[str] = ..., columns: _Optional[_Iterable[str]] = ..., rows_json: _Optional[str] = ...) -> None: ...

class StreamScanEventsRequest(_message.Message):
    __slots__ = ("id", "after_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    after_id: str
    def __init__(self, id: _Optional[str] = ..., after_id: _Optional[str] = ...) -> None: ...

class ScanEvent(_message.Message):
    __slots__ = ("id", "submitted", "variant", "result")
    ID_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    submitted: ScanSubmitted
    variant: ScanVariantChange
    result: ScanFinished
    def __init__(self, id: _Optional[str] = ..., submitted: _Optional[_Union[ScanSubmitted, _Mapping]] = ..., variant: _Optional[_Union[ScanVariantChange, _Mapping]] = ..., result: _Optional[_Union[ScanFinished, _Mapping]] = ...) -> None: ...

class ScanSubmitted(_message.Message):
    __slots__ = ("variants",)
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    variants: int
    def __init__(self, variants: _Optional[int] = ...) -> None: ...

class ScanVariantChange(_message.Message):
    __slots__ = ("variant", "job_id", "state", "attempts")
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    variant: int
    job_id: str
    state: JobState
    attempts: int
    def __init__(self, variant: _Optional[int] = ..., job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., attempts: _Optional[int] = ...) -> None: ...

class ScanFinished(_message.Message):
    __slots__ = ("state", "counts")
    STATE_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    counts: ScanCounts
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., counts: _Optional[_Union[ScanCounts, _Mapping]] = ...) -> None: ...
