-- Runs once, on an empty data directory (docker-entrypoint-initdb.d).
-- One cluster, one database per consumer; all owned by POSTGRES_USER.
CREATE DATABASE litellm;
CREATE DATABASE n8n;
