-- Bearer tokens. Plaintext is never stored: sha256 of the token plus an 8-character
-- prefix for display. Same shape as the reference server's tables.

CREATE TABLE IF NOT EXISTS public.workspace_auth_tokens (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id UUID NOT NULL REFERENCES public.workspaces(id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL,
    prefix       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    UNIQUE (token_hash)
);

-- Live tokens of a workspace, looked up on every authenticated request.
CREATE INDEX IF NOT EXISTS workspace_auth_tokens_live_idx
    ON public.workspace_auth_tokens (workspace_id)
    WHERE revoked_at IS NULL;

-- Organisation tokens: full admin on this tenant, named and revocable.
CREATE TABLE IF NOT EXISTS public.org_api_tokens (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash   BYTEA NOT NULL,
    prefix       TEXT NOT NULL,
    name         TEXT,
    created_by   TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    UNIQUE (token_hash)
);

ALTER TABLE public.org_api_tokens
    ADD COLUMN IF NOT EXISTS org_id UUID REFERENCES public.workspaces(id) ON DELETE SET NULL;

CREATE INDEX IF NOT EXISTS org_api_tokens_live_idx
    ON public.org_api_tokens (token_hash)
    WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS org_api_tokens_org_id_idx
    ON public.org_api_tokens (org_id)
    WHERE org_id IS NOT NULL;
