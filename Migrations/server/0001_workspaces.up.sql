-- Workspaces: one agent each, in a tree (parent_id). Shaped like the reference Go
-- server's table so this converges on a database it created: every statement is
-- IF NOT EXISTS, and columns the reference added later are added the same way.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'workspace_status' AND typnamespace = 'public'::regnamespace) THEN
        CREATE TYPE public.workspace_status AS ENUM (
            'provisioning', 'online', 'offline', 'degraded', 'failed', 'removed', 'paused', 'hibernated'
        );
    END IF;
END
$$;
ALTER TYPE public.workspace_status ADD VALUE IF NOT EXISTS 'awaiting_agent';
ALTER TYPE public.workspace_status ADD VALUE IF NOT EXISTS 'hibernating';

CREATE TABLE IF NOT EXISTS public.workspaces (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name              TEXT NOT NULL,
    role              TEXT,
    tier              INTEGER DEFAULT 1,
    status            public.workspace_status DEFAULT 'provisioning',
    agent_card        JSONB,
    url               TEXT,
    parent_id         UUID REFERENCES public.workspaces(id),
    last_heartbeat_at TIMESTAMPTZ,
    last_error_rate   FLOAT DEFAULT 0,
    last_sample_error TEXT,
    active_tasks      INTEGER DEFAULT 0,
    uptime_seconds    INTEGER DEFAULT 0,
    created_at        TIMESTAMPTZ DEFAULT now(),
    updated_at        TIMESTAMPTZ DEFAULT now()
);

ALTER TABLE public.workspaces
    ADD COLUMN IF NOT EXISTS current_task TEXT,
    ADD COLUMN IF NOT EXISTS runtime TEXT DEFAULT 'hermes',
    ADD COLUMN IF NOT EXISTS max_concurrent_tasks INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS platform_inbound_secret TEXT,
    ADD COLUMN IF NOT EXISTS delivery_mode TEXT NOT NULL DEFAULT 'push'
        CHECK (delivery_mode IN ('push', 'poll'));

CREATE INDEX IF NOT EXISTS idx_workspaces_parent_id ON public.workspaces(parent_id);
CREATE INDEX IF NOT EXISTS idx_workspaces_status ON public.workspaces(status);
