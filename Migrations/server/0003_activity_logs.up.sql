-- Activity of each workspace: A2A traffic, memory writes, task updates, errors.
-- Read by agents with since_id / since_secs cursors (DESIGN section 5.1).

CREATE TABLE IF NOT EXISTS public.activity_logs (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  UUID NOT NULL REFERENCES public.workspaces(id) ON DELETE CASCADE,
    activity_type TEXT NOT NULL,
    source_id     UUID,
    target_id     UUID,
    method        TEXT,
    summary       TEXT,
    request_body  JSONB,
    response_body JSONB,
    duration_ms   INTEGER,
    status        TEXT DEFAULT 'ok',
    error_detail  TEXT,
    created_at    TIMESTAMPTZ DEFAULT now()
);

ALTER TABLE public.activity_logs
    ADD COLUMN IF NOT EXISTS tool_trace JSONB;

CREATE INDEX IF NOT EXISTS idx_activity_ws_type_time
    ON public.activity_logs (workspace_id, activity_type, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_activity_created_at
    ON public.activity_logs (created_at);
CREATE INDEX IF NOT EXISTS idx_activity_ws_source
    ON public.activity_logs (workspace_id, source_id)
    WHERE source_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_activity_ws_target
    ON public.activity_logs (workspace_id, target_id)
    WHERE target_id IS NOT NULL;
-- Cursor reads (since_id): one workspace's rows in (created_at, id) order.
CREATE INDEX IF NOT EXISTS idx_activity_ws_time_id
    ON public.activity_logs (workspace_id, created_at, id);
