-- Secrets a workspace's tools need (API keys), encrypted at rest with AES-256-GCM under
-- SECRETS_ENCRYPTION_KEY. Shaped like the reference server's tables (004, 012, 018) so
-- this converges on a database it created: encryption_version 0 = plaintext (rows the
-- reference wrote without a key), 1 = AES-256-GCM (nonce || ciphertext || tag).

CREATE TABLE IF NOT EXISTS public.workspace_secrets (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    UUID REFERENCES public.workspaces(id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    encrypted_value BYTEA NOT NULL,
    created_at      TIMESTAMPTZ DEFAULT now(),
    updated_at      TIMESTAMPTZ DEFAULT now(),
    UNIQUE (workspace_id, key)
);

-- Tenant-wide secrets; a workspace secret with the same key wins over a global one.
CREATE TABLE IF NOT EXISTS public.global_secrets (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    key             TEXT NOT NULL UNIQUE,
    encrypted_value BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE public.workspace_secrets
    ADD COLUMN IF NOT EXISTS encryption_version INT NOT NULL DEFAULT 0;
ALTER TABLE public.global_secrets
    ADD COLUMN IF NOT EXISTS encryption_version INT NOT NULL DEFAULT 0;
