DROP TABLE IF EXISTS public.a2a_queue;
