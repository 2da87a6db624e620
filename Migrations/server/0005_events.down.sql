ALTER TABLE public.workspaces
    DROP COLUMN IF EXISTS broadcast_enabled,
    DROP COLUMN IF EXISTS talk_to_user_enabled;
DROP TABLE IF EXISTS public.structure_events;
