"""The secrets store: named values owned by a Team, encrypted at rest (app.infra.secretbox), write
only (never returned or shown again), referenced by name in Stage configs, masked in every log line
and Event (app.infra.redaction), rotatable (`flask procly rotate-secrets-key`)."""
