"""The studio's database: users (tokens stored hashed), the append-only audit log and the run index.

Any SQLAlchemy URL works (PostgreSQL for a shared server); the default is an embedded SQLite file
``ROOT/.studio/studio.db``. Audit rows can be added but never changed or deleted through the ORM (a mapper
event refuses it), and on SQLite triggers refuse it at the database too.

API tokens look like ``dts_<user id>_<secret>``; only a salted scrypt hash of the secret is stored, as
``scrypt:N:r:p:HEX`` (``hashlib.scrypt``; default N = 2**14, r = 8, p = 1, the interactive-login parameters
of RFC 7914 section 2), so stronger parameters can be adopted later without breaking old tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from drills.studio import ROLES
from twin.errors import InputError

__all__ = ["Base", "User", "AuditEntry", "RunRecord", "Database", "default_url", "hash_secret", "verify_secret"]

SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    salt: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(128))
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AuditEntry(Base):
    """One change: who, when, which file, what (``save``, ``run``, ``user``), content hashes and diff."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    user: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(1000))
    before_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    after_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    diff: Mapped[str] = mapped_column(Text, default="")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.time.replace(tzinfo=dt.UTC).isoformat(), "user": self.user,
                "action": self.action, "path": self.path, "before_sha256": self.before_sha256,
                "after_sha256": self.after_sha256, "diff": self.diff}


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(mapper, connection, target) -> None:
    raise PermissionError("the audit log is append-only")


class RunRecord(Base):
    """A drill or comparison started from the studio; ``kpis`` as JSON once done."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(20))
    user: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    started: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    out: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    kpis: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    def to_dict(self) -> dict[str, Any]:
        def iso(t):
            return t.replace(tzinfo=dt.UTC).isoformat() if t else None

        return {"id": self.id, "path": self.path, "kind": self.kind, "user": self.user, "status": self.status,
                "progress": round(self.progress, 3), "started": iso(self.started), "finished": iso(self.finished),
                "kpis": json.loads(self.kpis) if self.kpis else None, "error": self.error,
                "report": bool(self.out) and self.status == "done",
                "replay": bool(self.out) and self.status == "done" and self.kind == "drill"}


_SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # write-ahead log: readers do not wait for the writer; NORMAL sync is durable across crashes of the
    # process (a power cut may lose the last commits, never corrupt the file)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def default_url(root: Path) -> str:
    """``sqlite:///ROOT/.studio/studio.db`` (the folder is created)."""
    d = Path(root).resolve() / ".studio"
    d.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{d / 'studio.db'}"


def hash_secret(secret: str, salt: bytes, n: int | None = None, r: int | None = None, p: int | None = None) -> str:
    """``scrypt:N:r:p:HEX``, the scrypt hash of a token secret with its parameters (default :data:`SCRYPT`)."""
    n, r, p = n or SCRYPT["n"], r or SCRYPT["r"], p or SCRYPT["p"]
    h = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=32)
    return f"scrypt:{n}:{r}:{p}:{h.hex()}"


def verify_secret(secret: str, salt_hex: str, digest: str) -> bool:
    """Does ``secret`` match the stored ``digest`` (parameters read from it)?"""
    parts = digest.split(":")
    if len(parts) != 5 or parts[0] != "scrypt":
        return False
    n, r, p = (int(x) for x in parts[1:4])
    return hmac.compare_digest(hash_secret(secret, bytes.fromhex(salt_hex), n, r, p), digest)


class Database:
    """Engine, session factory and the few queries the studio needs."""

    def __init__(self, url: str):
        kw: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kw)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        if self.engine.dialect.name == "sqlite":
            with self.engine.begin() as c:
                for ddl in _SQLITE_TRIGGERS:
                    c.execute(text(ddl))
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        self._verified: dict[str, tuple[int, str, str]] = {}  # sha256(token) -> (id, name, role)
        self._lock = threading.Lock()

    # -- users --------------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, by: str | None = None) -> str:
        """Create a user (or give an existing one a new token and role); return the token, shown once.
        ``by`` names who did it in the audit log (default: the operating-system user, from the command line)."""
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}", where="--role")
        if not name.strip():
            raise InputError("the user name is empty", where="NAME")
        salt = secrets.token_bytes(16)
        secret = secrets.token_urlsafe(32)
        with self.session.begin() as s:
            u = s.scalar(select(User).where(User.name == name))
            if u is None:
                u = User(name=name, role=role, salt=salt.hex(), token_hash=hash_secret(secret, salt))
                s.add(u)
            else:
                u.role, u.salt, u.token_hash = role, salt.hex(), hash_secret(secret, salt)
            s.flush()
            uid = u.id
            if by is None:
                import getpass

                by = f"{getpass.getuser()} (command line)"
            s.add(AuditEntry(user=by, action="user", path="", diff=f"user {name}: role {role}, new token"))
        with self._lock:
            self._verified = {k: v for k, v in self._verified.items() if v[0] != uid}
        return f"dts_{uid}_{secret}"

    def user_for_token(self, token: str) -> tuple[int, str, str] | None:
        """(id, name, role) of a valid token, else None. Verified tokens are remembered by their SHA-256
        so scrypt runs once per token and process."""
        key = hashlib.sha256(token.encode("utf-8")).hexdigest()
        with self._lock:
            hit = self._verified.get(key)
        if hit is not None:
            return hit
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "dts" or not parts[1].isdigit():
            return None
        with self.session() as s:
            u = s.get(User, int(parts[1]))
            if u is None or not verify_secret(parts[2], u.salt, u.token_hash):
                return None
            hit = (u.id, u.name, u.role)
        with self._lock:
            self._verified[key] = hit
        return hit

    # -- audit --------------------------------------------------------------------------------------------
    def audit(self, **fields: Any) -> None:
        with self.session.begin() as s:
            s.add(AuditEntry(**fields))

    def audit_entries(self, path: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        with self.session() as s:
            q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            if path:
                q = q.where(AuditEntry.path == path)
            return [e.to_dict() for e in s.scalars(q)]

    # -- runs ---------------------------------------------------------------------------------------------
    def add_run(self, rec: RunRecord) -> None:
        with self.session.begin() as s:
            s.add(rec)

    def update_run(self, run_id: str, **fields: Any) -> None:
        with self.session.begin() as s:
            r = s.get(RunRecord, run_id)
            for k, v in fields.items():
                setattr(r, k, v)

    def get_run(self, run_id: str) -> RunRecord | None:
        with self.session() as s:
            return s.get(RunRecord, run_id)

    def runs(self, limit: int = 200) -> list[dict[str, Any]]:
        with self.session() as s:
            return [r.to_dict() for r in s.scalars(select(RunRecord).order_by(RunRecord.started.desc(),
                                                                             RunRecord.id.desc()).limit(limit))]
