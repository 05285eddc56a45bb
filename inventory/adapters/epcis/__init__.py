"""GS1 EPCIS 2.0 capture: JSON-LD and XML EPCISDocuments into the ledger.

- capture: the two adapters (`epcis`, `epcis-xml`, registered by
  inventory.adapters), rollback or proceed, error declarations;
- checks: GS1's JSON schema (vendored in gs1/, with GS1's disclaimer) and
  the semantic checks;
- mapping: an event's business step, disposition, goods and places as
  the tower's events;
- vocabulary, identifiers, hashing, xml: the CBV words, GS1 keys, the CBV
  event hash and the safe XML reading they rest on.
"""
