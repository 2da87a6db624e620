-- A2A messages for a busy push-mode workspace wait here and are delivered in order as it
-- frees up; rows survive restarts. Same shape as the reference's a2a_queue (042 and later
-- additions), so this converges on a database it created.

CREATE TABLE IF NOT EXISTS public.a2a_queue (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    UUID NOT NULL REFERENCES public.workspaces(id) ON DELETE CASCADE,
    caller_id       UUID,
    priority        SMALLINT NOT NULL DEFAULT 50,
    body            JSONB NOT NULL,
    method          TEXT,
    idempotency_key TEXT,
    enqueued_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    dispatched_at   TIMESTAMPTZ,
    completed_at    TIMESTAMPTZ,
    expires_at      TIMESTAMPTZ,
    attempts        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'dispatched', 'completed', 'dropped', 'failed')),
    last_error      TEXT
);

ALTER TABLE public.a2a_queue
    ADD COLUMN IF NOT EXISTS response_body JSONB,
    ADD COLUMN IF NOT EXISTS next_attempt_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS settling_since TIMESTAMPTZ;

-- The drain query: a workspace's oldest highest-priority queued item.
CREATE INDEX IF NOT EXISTS idx_a2a_queue_dispatch
    ON public.a2a_queue (workspace_id, priority DESC, enqueued_at ASC)
    WHERE status = 'queued';
CREATE UNIQUE INDEX IF NOT EXISTS idx_a2a_queue_idempotency
    ON public.a2a_queue (workspace_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL AND status IN ('queued', 'dispatched');
