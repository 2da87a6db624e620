DROP TABLE IF EXISTS public.org_api_tokens;
DROP TABLE IF EXISTS public.workspace_auth_tokens;
