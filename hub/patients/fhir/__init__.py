"""The EHR link: patients and appointments read from a FHIR R4 server (docs/ehr.md).

`client.py` speaks FHIR REST (SMART Backend Services or a bearer token, paging, throttling,
retries); `mapping.py` turns resources into records (pure, no I/O); `runs.py` starts, claims and
ends an import; `store.py` writes one page of records and the import's cursor in one transaction,
matching patients to the hub's records as `matching.py` says; `worker.py` runs imports on the hub's
job loop; `controllers.py` is the admin API."""
