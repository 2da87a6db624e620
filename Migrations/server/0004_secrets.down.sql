DROP TABLE IF EXISTS public.global_secrets;
DROP TABLE IF EXISTS public.workspace_secrets;
