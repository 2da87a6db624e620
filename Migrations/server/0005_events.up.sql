-- Events the server emits (A2A responses, agent messages, delegation changes), stored
-- as the reference stores them, and the two abilities that gate notify and broadcast
-- (the reference's defaults: talking to the user on, broadcasting off).

CREATE TABLE IF NOT EXISTS public.structure_events (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    event_type    TEXT NOT NULL,
    workspace_id  UUID,
    agent_id      UUID,
    target_id     UUID,
    payload       JSONB,
    created_at    TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_events_workspace_id ON public.structure_events (workspace_id);
CREATE INDEX IF NOT EXISTS idx_events_created_at ON public.structure_events (created_at);

ALTER TABLE public.workspaces
    ADD COLUMN IF NOT EXISTS broadcast_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN IF NOT EXISTS talk_to_user_enabled BOOLEAN NOT NULL DEFAULT TRUE;
