-- API credentials. Tokens are stored as the hex SHA-256 of their text; app secrets as argon2 PHC
-- strings. Times are BIGINT Unix microseconds.
CREATE TABLE access_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT,
    revoked BIGINT
);
CREATE INDEX access_tokens_tenant ON access_tokens (tenant_id);

CREATE TABLE app_registrations (
    client_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created BIGINT NOT NULL,
    revoked BIGINT
);
CREATE INDEX app_registrations_tenant ON app_registrations (tenant_id);
