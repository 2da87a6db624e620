-- The delegation ledger: one row per task a workspace hands to another, so both sides
-- (and the source's heartbeat, polling GET /delegations) see its status and result.
-- Same shape as the reference's delegations table (049). No foreign keys: removing a
-- workspace must not erase delegation history.

CREATE TABLE IF NOT EXISTS public.delegations (
    delegation_id   TEXT PRIMARY KEY,
    caller_id       UUID NOT NULL,
    callee_id       UUID NOT NULL,
    task_preview    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'dispatched', 'in_progress', 'completed', 'failed', 'stuck')),
    last_heartbeat  TIMESTAMPTZ,
    deadline        TIMESTAMPTZ NOT NULL DEFAULT (now() + interval '6 hours'),
    result_preview  TEXT,
    error_detail    TEXT,
    retry_count     INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    idempotency_key TEXT
);

CREATE INDEX IF NOT EXISTS idx_delegations_caller_created ON public.delegations (caller_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_delegations_callee_created ON public.delegations (callee_id, created_at DESC);
CREATE UNIQUE INDEX IF NOT EXISTS idx_delegations_idempotency
    ON public.delegations (caller_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
