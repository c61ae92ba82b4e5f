//! FHIR XML: reading and writing the FHIR XML format losslessly.
