-- Each service owns its database (docs/architecture.md); run once, when PostgreSQL's data
-- folder is first made (the official image and deploy/postgres run /docker-entrypoint-initdb.d).
CREATE DATABASE pyk8s_auth;
CREATE DATABASE pyk8s_teams;
CREATE DATABASE pyk8s_provisioner;
CREATE DATABASE pyk8s_terminal;
