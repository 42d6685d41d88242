/* The common case of ChainVerifier.add, compiled (optional: chain.py falls back to the
 * same loop in Python when this module is not built).
 *
 * run(items, chains, sha256, verifier, slow, deferred) walks ``items`` (Item-shaped tuples: index,
 * where, record, control, error, raw, canonical, ...). A record item whose record is
 * unremarkable (every required field a non-empty str, a known or absent canonicalization
 * algorithm, no defer token, its agent's chain already known, its recomputed hash equal to
 * the stored one, not awaited by a gap, not a repeat, linking to the chain's tip) is applied
 * here exactly as ChainVerifier.add applies it; anything else is handed, untouched, to
 * ``slow(item)``, which is ChainVerifier.add's full path. A record applied here that has a
 * defer token then goes to ``deferred(record, index, where)`` (the cascade check's part). Every check below runs before any
 * state changes, so a hand-over never sees a half-applied record. Returns None.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *s_record_id, *s_prev_record_hash, *s_record_hash, *s_agent_id, *s_created_at,
    *s_canonicalization_algorithm, *s_lamport_seq, *s_defer_token, *s_tip, *s_seen, *s_awaited,
    *s_length, *s_first_index, *s_last_index, *s_last_record_id, *s_last_created_at,
    *s_last_lamport, *s_records, *s_digest, *s_jcs, *s_legacy, *one;

/* The value of each byte as a lower-case hex digit, or -1 (a table: the digits of a hash are
 * random, so a branch per digit would mispredict half the time). Filled in PyInit. */
static signed char nibble[256];

/* A new reference to a non-empty str attribute, or NULL (no exception set) when the
 * attribute is missing, not an exact str or empty. */
static PyObject *
nonempty_str(PyObject *obj, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (!PyUnicode_CheckExact(value) || PyUnicode_GET_LENGTH(value) == 0) {
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

/* 1: applied; 2: applied, and the record has a defer token (the caller hands it to the
 * cascade check); 0: hand over to the slow path; -1: error. */
static int
fast_add(PyObject *record, PyObject *canonical, PyObject *index, PyObject *chains, PyObject *sha256)
{
    int applied = -1, eq;
    PyObject *record_id = NULL, *prev = NULL, *stored = NULL, *agent = NULL, *created_at = NULL,
             *algorithm = NULL, *lamport = NULL, *defer = NULL, *chain = NULL, *tip = NULL,
             *seen = NULL, *awaited = NULL, *length = NULL, *first_index = NULL,
             *hasher = NULL, *digest = NULL, *new_length = NULL;

    if (!PyBytes_CheckExact(canonical))
        return 0;
    record_id = nonempty_str(record, s_record_id);
    prev = nonempty_str(record, s_prev_record_hash);
    stored = nonempty_str(record, s_record_hash);
    agent = nonempty_str(record, s_agent_id);
    created_at = nonempty_str(record, s_created_at);
    if (!record_id || !prev || !stored || !agent || !created_at) {
        applied = 0;
        goto done;
    }
    algorithm = PyObject_GetAttr(record, s_canonicalization_algorithm);
    lamport = PyObject_GetAttr(record, s_lamport_seq);
    defer = PyObject_GetAttr(record, s_defer_token);
    if (!algorithm || !lamport || !defer) {
        PyErr_Clear();
        applied = 0;
        goto done;
    }
    /* An absent algorithm or exactly a known one; anything else (a finding, or a name with
     * spaces around it) is the slow path's. */
    if (!PyUnicode_CheckExact(algorithm)
        || (PyUnicode_GET_LENGTH(algorithm) != 0 && PyUnicode_Compare(algorithm, s_jcs) != 0
            && PyUnicode_Compare(algorithm, s_legacy) != 0)) {
        if (PyErr_Occurred())
            goto done;
        applied = 0;
        goto done;
    }
    if (!PyLong_CheckExact(lamport) || !PyUnicode_CheckExact(defer)) {
        applied = 0;
        goto done;
    }
    chain = PyDict_GetItemWithError(chains, agent); /* borrowed */
    if (chain == NULL) {
        if (PyErr_Occurred())
            goto done;
        applied = 0;
        goto done;
    }
    Py_INCREF(chain);
    tip = PyObject_GetAttr(chain, s_tip);
    seen = PyObject_GetAttr(chain, s_seen);
    awaited = PyObject_GetAttr(chain, s_awaited);
    length = PyObject_GetAttr(chain, s_length);
    first_index = PyObject_GetAttr(chain, s_first_index);
    if (!tip || !seen || !awaited || !length || !first_index)
        goto done;
    if (!PyUnicode_CheckExact(tip) || !PyDict_CheckExact(seen) || !PyAnySet_CheckExact(awaited)
        || !PyLong_CheckExact(length) || !PyLong_CheckExact(first_index)) {
        applied = 0;
        goto done;
    }
    eq = PyObject_RichCompareBool(prev, tip, Py_EQ);
    if (eq <= 0) {
        applied = eq < 0 ? -1 : 0;
        goto done;
    }
    {
        long first = PyLong_AsLong(first_index);
        if (first == -1 && PyErr_Occurred())
            goto done;
        if (first < 0) {
            applied = 0;
            goto done;
        }
    }
    hasher = PyObject_CallOneArg(sha256, canonical);
    if (hasher == NULL)
        goto done;
    digest = PyObject_CallMethodNoArgs(hasher, s_digest);
    if (digest == NULL)
        goto done;
    /* hexdigest() == stored, without the hex string: stored is 64 lower-case hex digits
     * spelling the digest. Anything else is a mismatch (the slow path reports it). */
    if (!PyBytes_CheckExact(digest) || PyBytes_GET_SIZE(digest) != 32 || !PyUnicode_IS_COMPACT_ASCII(stored)
        || PyUnicode_GET_LENGTH(stored) != 64) {
        applied = 0;
        goto done;
    }
    {
        const unsigned char *hex = (const unsigned char *)PyUnicode_DATA(stored);
        const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(digest);
        for (int i = 0; i < 32; i++) {
            int hi = nibble[hex[2 * i]], lo = nibble[hex[2 * i + 1]];
            if ((hi | lo) < 0 || ((hi << 4) | lo) != raw[i]) {
                applied = 0;
                goto done;
            }
        }
    }
    if (PySet_GET_SIZE(awaited) > 0) {
        eq = PySet_Contains(awaited, stored);
        if (eq != 0) {
            applied = eq < 0 ? -1 : 0;
            goto done;
        }
    }
    eq = PyDict_Contains(seen, digest); /* seen's key for a lower-case hex hash: its bytes */
    if (eq != 0) {
        applied = eq < 0 ? -1 : 0;
        goto done;
    }
    /* Every check passed: apply, in ChainVerifier.add's order. */
    new_length = PyNumber_Add(length, one);
    if (new_length == NULL)
        goto done;
    if (PyObject_SetAttr(chain, s_tip, stored) < 0 || PyDict_SetItem(seen, digest, index) < 0
        || PyObject_SetAttr(chain, s_length, new_length) < 0
        || PyObject_SetAttr(chain, s_last_index, index) < 0
        || PyObject_SetAttr(chain, s_last_record_id, record_id) < 0
        || PyObject_SetAttr(chain, s_last_created_at, created_at) < 0)
        goto done;
    {
        int truthy = PyObject_IsTrue(lamport);
        if (truthy < 0 || (truthy && PyObject_SetAttr(chain, s_last_lamport, lamport) < 0))
            goto done;
    }
    applied = PyUnicode_GET_LENGTH(defer) != 0 ? 2 : 1;
done:
    Py_XDECREF(record_id);
    Py_XDECREF(prev);
    Py_XDECREF(stored);
    Py_XDECREF(agent);
    Py_XDECREF(created_at);
    Py_XDECREF(algorithm);
    Py_XDECREF(lamport);
    Py_XDECREF(defer);
    Py_XDECREF(chain);
    Py_XDECREF(tip);
    Py_XDECREF(seen);
    Py_XDECREF(awaited);
    Py_XDECREF(length);
    Py_XDECREF(first_index);
    Py_XDECREF(hasher);
    Py_XDECREF(digest);
    Py_XDECREF(new_length);
    return applied;
}

/* Add ``count`` to verifier.records (the records applied here since the last flush). */
static int
flush(PyObject *verifier, Py_ssize_t count)
{
    PyObject *records, *delta, *total;
    int rc;
    if (count == 0)
        return 0;
    records = PyObject_GetAttr(verifier, s_records);
    if (records == NULL)
        return -1;
    delta = PyLong_FromSsize_t(count);
    if (delta == NULL) {
        Py_DECREF(records);
        return -1;
    }
    total = PyNumber_Add(records, delta);
    Py_DECREF(records);
    Py_DECREF(delta);
    if (total == NULL)
        return -1;
    rc = PyObject_SetAttr(verifier, s_records, total);
    Py_DECREF(total);
    return rc;
}

static PyObject *
run(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *iterator, *chains, *sha256, *verifier, *slow, *deferred, *item, *result;
    Py_ssize_t applied = 0;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "run(items, chains, sha256, verifier, slow, deferred)");
        return NULL;
    }
    chains = args[1];
    sha256 = args[2];
    verifier = args[3];
    slow = args[4];
    deferred = args[5];
    if (!PyDict_CheckExact(chains)) {
        PyErr_SetString(PyExc_TypeError, "chains must be a dict");
        return NULL;
    }
    iterator = PyObject_GetIter(args[0]);
    if (iterator == NULL)
        return NULL;
    while ((item = PyIter_Next(iterator)) != NULL) {
        int done = 0;
        if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) >= 7 && PyTuple_GET_ITEM(item, 2) != Py_None) {
            done = fast_add(PyTuple_GET_ITEM(item, 2), PyTuple_GET_ITEM(item, 6), PyTuple_GET_ITEM(item, 0),
                            chains, sha256);
        }
        if (done == 1) {
            applied++;
        } else if (done == 2) {
            applied++;
            result = PyObject_CallFunctionObjArgs(deferred, PyTuple_GET_ITEM(item, 2), PyTuple_GET_ITEM(item, 0),
                                                  PyTuple_GET_ITEM(item, 1), NULL);
            if (result == NULL)
                done = -1;
            else
                Py_DECREF(result);
        } else if (done == 0) {
            if (flush(verifier, applied) < 0)
                done = -1;
            else {
                applied = 0;
                result = PyObject_CallOneArg(slow, item);
                if (result == NULL)
                    done = -1;
                else
                    Py_DECREF(result);
            }
        }
        Py_DECREF(item);
        if (done < 0) {
            Py_DECREF(iterator);
            return NULL;
        }
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        flush(verifier, applied);  /* what was applied counts even when the source fails */
        PyErr_Restore(type, value, tb);
        return NULL;
    }
    if (flush(verifier, applied) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"run", (PyCFunction)(void (*)(void))run, METH_FASTCALL,
     "run(items, chains, sha256, verifier, slow, deferred): ChainVerifier.add_items' loop, compiled."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "faramesh_cloud.dpr._fastchain",
    "The common case of ChainVerifier.add, compiled (optional; see chain.py).", -1, methods,
};

#define INTERN(var, text)                                                                      \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                      \
        return NULL;

PyMODINIT_FUNC
PyInit__fastchain(void)
{
    INTERN(s_record_id, "record_id");
    INTERN(s_prev_record_hash, "prev_record_hash");
    INTERN(s_record_hash, "record_hash");
    INTERN(s_agent_id, "agent_id");
    INTERN(s_created_at, "created_at");
    INTERN(s_canonicalization_algorithm, "canonicalization_algorithm");
    INTERN(s_lamport_seq, "lamport_seq");
    INTERN(s_defer_token, "defer_token");
    INTERN(s_tip, "tip");
    INTERN(s_seen, "seen");
    INTERN(s_awaited, "awaited");
    INTERN(s_length, "length");
    INTERN(s_first_index, "first_index");
    INTERN(s_last_index, "last_index");
    INTERN(s_last_record_id, "last_record_id");
    INTERN(s_last_created_at, "last_created_at");
    INTERN(s_last_lamport, "last_lamport");
    INTERN(s_records, "records");
    INTERN(s_digest, "digest");
    INTERN(s_jcs, "jcs-rfc8785-v1");
    INTERN(s_legacy, "legacy-json-v1");
    for (int c = 0; c < 256; c++)
        nibble[c] = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if ((one = PyLong_FromLong(1)) == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    /* The algorithm names compiled in: chain.py uses this module only if they are its own. */
    if (PyModule_AddObject(m, "ALGORITHMS", Py_BuildValue("(OO)", s_jcs, s_legacy)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
