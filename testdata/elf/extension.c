/* An extension module's shape without Python's headers: it calls CPython's C-API, which
 * stays undefined until the interpreter loads it, as every real extension's does. */
typedef struct object object;
extern object *PyImport_ImportModule(const char *name);
extern void *PyCapsule_GetPointer(object *capsule, const char *name);
extern object *PyModule_Create2(void *definition, int api_version);
static char definition[128];
object *PyInit_extension(void) {
    PyImport_ImportModule("math");
    PyCapsule_GetPointer(0, 0);
    return PyModule_Create2(definition, 1013);
}
