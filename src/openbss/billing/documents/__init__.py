"""Invoice documents: the EN 16931 model of an issued invoice (`context`), its UBL 2.1 and UN/CEFACT CII
syntaxes (`ubl`, `cii`) and their validation with the CEN and Peppol Schematron rules (`validation`)."""
