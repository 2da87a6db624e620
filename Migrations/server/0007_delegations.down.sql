DROP TABLE IF EXISTS public.delegations;
