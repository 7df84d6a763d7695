"""Moving data between stores: ``storekit migrate`` and ``storekit import-mlflow``.

One copy engine (:mod:`.engine`) reads from a *source* — a storekit store
(:mod:`.storekit_source`), an MLflow database (:mod:`.mlflow_db`) or an MLflow
``mlruns/`` tree (:mod:`.mlflow_files`), all exposing the read shape of
:class:`.records.Source` — and writes to storekit stores through a
*destination* (:mod:`.destination`): the stores' import hook (capability
``IMPORT``, ids preserved) or, without it, their public API (new ids, mapped
in the resume state).  The resume state (:mod:`.state`) records finished
records, :mod:`.digest` computes per-run checksums, :mod:`.artifacts`
copies and hashes artifacts, :mod:`.verify` compares source and destination
and :mod:`.report` renders plans, progress and results.  See
docs/migration.md.
"""

from .engine import CopyEngine, TransferOptions, TransferResult
from .records import RunRecord, Source

__all__ = ["CopyEngine", "TransferOptions", "TransferResult", "RunRecord", "Source"]
