DROP TABLE IF EXISTS public.workspaces;
DROP TYPE IF EXISTS public.workspace_status;
