-- One database per service; each service owns its database and never reads another's.
-- Run once by the postgres image, on the first start with an empty data volume
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml). The later services' databases
-- are created now too, so adding a service to the compose file needs no re-initialisation.
CREATE DATABASE members;
CREATE DATABASE events;
CREATE DATABASE feedback;
CREATE DATABASE newsletter;
CREATE DATABASE kpi;
