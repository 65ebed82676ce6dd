/*===- BrokenArtifact.c - shared objects that are not valid artifacts -----===*\
|*                                                                            *|
|* Compiled once per WEFT_BROKEN_* macro, for the artifact loading errors.    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#if defined(WEFT_BROKEN_MISSING_SYMBOL)
/* A valid manifest whose entry symbol does not exist. */
const char weft_manifest[] =
    "{\"format\": \"weft-artifact\", \"version\": 1, \"target\": \"cpu\", "
    "\"functions\": [{\"name\": \"f\", \"symbol\": \"_weft_entry_missing\", "
    "\"inputs\": [], \"params\": [], \"results\": []}]}";
#elif defined(WEFT_BROKEN_BAD_MANIFEST)
/* An unknown dtype. */
const char weft_manifest[] =
    "{\"format\": \"weft-artifact\", \"version\": 1, \"target\": \"cpu\", "
    "\"functions\": [{\"name\": \"f\", \"symbol\": \"f\", \"inputs\": "
    "[{\"dtype\": \"f8\", \"shape\": [2]}], \"params\": [], \"results\": "
    "[]}]}";
#endif

/* Every variant exports something, and NO_MANIFEST only this. */
int weft_broken_artifact_marker(void) { return 1; }
