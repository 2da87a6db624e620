DROP TABLE IF EXISTS public.activity_logs;
