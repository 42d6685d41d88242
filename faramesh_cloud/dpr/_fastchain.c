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
 *
 * run_frames(...) is the same for a lean WAL with the per-frame layer of sources._wal
 * compiled too (see its comment), and Seen is AgentChain.seen when this module is built
 * (see chain.new_seen).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

static PyObject *s_record_id, *s_prev_record_hash, *s_record_hash, *s_agent_id, *s_created_at,
    *s_canonicalization_algorithm, *s_lamport_seq, *s_defer_token, *s_tip, *s_seen, *s_awaited,
    *s_length, *s_first_index, *s_last_index, *s_last_record_id, *s_last_created_at,
    *s_last_lamport, *s_records, *s_digest, *s_jcs, *s_legacy, *one;

/* The value of each byte as a lower-case hex digit, or -1 (a table: the digits of a hash are
 * random, so a branch per digit would mispredict half the time). Filled in PyInit. */
static signed char nibble[256];

/* Attributes that are plain slots (a member descriptor of an object field, on a type with
 * the generic getattr/setattr: AgentChain's fields, a msgspec view's fields) are read and
 * written at their offset, the descriptor looked up once per type (and again whenever the
 * type changes: its version tag). Exactly what PyObject_GetAttr/SetAttr would do for them,
 * without the lookup per record; anything else goes through PyObject_GetAttr/SetAttr. */
typedef struct {
    PyTypeObject *type; /* a strong reference, so the address cannot be reused */
    unsigned int tag;
    Py_ssize_t offset; /* -1: not a plain slot */
} Slot;

/* One cache per attribute and use; two entries each (a JCS and a legacy view type). */
typedef struct {
    Slot entry[2];
    int next;
} SlotCache;

static Py_ssize_t
plain_slot(PyTypeObject *type, PyObject *name, int for_set)
{
    PyObject *descr;
    PyMemberDef *member;
    if (type->tp_getattro != PyObject_GenericGetAttr || (for_set && type->tp_setattro != PyObject_GenericSetAttr))
        return -1;
    descr = _PyType_Lookup(type, name); /* borrowed; assigns the version tag */
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type))
        return -1;
    member = ((PyMemberDescrObject *)descr)->d_member;
    if (member->type != T_OBJECT_EX || (for_set && (member->flags & READONLY)) || member->offset <= 0)
        return -1;
    return member->offset;
}

static Py_ssize_t
slot_offset(PyObject *obj, PyObject *name, SlotCache *cache, int for_set)
{
    PyTypeObject *type = Py_TYPE(obj);
    Slot *slot;
    for (int i = 0; i < 2; i++) {
        slot = &cache->entry[i];
        if (slot->type == type && slot->tag == type->tp_version_tag && slot->tag != 0)
            return slot->offset;
    }
    slot = &cache->entry[cache->next];
    cache->next ^= 1;
    Py_XDECREF(slot->type);
    slot->offset = plain_slot(type, name, for_set);
    slot->tag = PyType_HasFeature(type, Py_TPFLAGS_VALID_VERSION_TAG) ? type->tp_version_tag : 0;
    slot->type = (PyTypeObject *)Py_NewRef(type);
    return slot->offset;
}

/* PyObject_GetAttr(obj, name), a slot read where it can be. */
static PyObject *
get_attr(PyObject *obj, PyObject *name, SlotCache *cache)
{
    Py_ssize_t offset = slot_offset(obj, name, cache, 0);
    if (offset > 0) {
        PyObject *value = *(PyObject **)((char *)obj + offset);
        if (value != NULL)
            return Py_NewRef(value);
    }
    return PyObject_GetAttr(obj, name);
}

/* PyObject_SetAttr(obj, name, value), a slot write where it can be. */
static int
set_attr(PyObject *obj, PyObject *name, PyObject *value, SlotCache *cache)
{
    Py_ssize_t offset = slot_offset(obj, name, cache, 1);
    if (offset > 0) {
        PyObject **field = (PyObject **)((char *)obj + offset);
        Py_XSETREF(*field, Py_NewRef(value));
        return 0;
    }
    return PyObject_SetAttr(obj, name, value);
}

static SlotCache c_record_id, c_prev, c_record_hash, c_agent_id, c_created_at, c_algorithm, c_lamport,
    c_defer, c_tip, c_seen, c_awaited, c_length, c_first_index, c_set_tip, c_set_length, c_set_last_index,
    c_set_last_record_id, c_set_last_created_at, c_set_last_lamport;

/* A new reference to a non-empty str attribute, or NULL (no exception set) when the
 * attribute is missing, not an exact str or empty. */
static PyObject *
nonempty_str(PyObject *obj, PyObject *name, SlotCache *cache)
{
    PyObject *value = get_attr(obj, name, cache);
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

/* Seen: AgentChain.seen when the accelerator is built, a mapping of seen_key(record_hash) to
 * the record's index. A 32-byte key (the digest a lower-case hex hash spells) lives in a flat
 * open-addressing table of (digest, index) entries, no Python object per record; any other
 * key (a hash not spelled as the daemon spells it: kept as the exact string) lives in an
 * ordinary dict beside it. So it is one to one exactly as the dict it replaces. A 16-bit tag
 * array beside the entries is what a lookup probes (a miss, every new record, touches no
 * entry), as a dict probes its small index array before its entries. Values are
 * indexes (ints that fit in 64 bits); nothing is ever removed. */
typedef struct {
    unsigned char digest[32];
    long long index;
} SeenEntry;

typedef struct {
    PyObject_HEAD
    uint16_t *tags;    /* per slot: 0 empty, else 16 bits of the digest (never 0): probed first */
    SeenEntry *table;  /* per slot: the entry, read only when its tag matches */
    size_t mask;       /* capacity - 1 (capacity a power of two, or 0 before the first insert) */
    size_t count;      /* entries in table */
    PyObject *other;   /* dict of the other keys */
} Seen;

static PyTypeObject SeenType;

static PyObject *
Seen_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    Seen *self;
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Seen() takes no arguments");
        return NULL;
    }
    self = (Seen *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->other = PyDict_New();
    if (self->other == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
Seen_dealloc(Seen *self)
{
    PyMem_Free(self->tags);
    PyMem_Free(self->table);
    Py_XDECREF(self->other);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The slot holding ``digest``, or the free slot where it would go; -1 if the table is empty.
 * The digest's own bits are the hash (SHA-256 output is uniform): its first 8 bytes pick the
 * slot, 16 others the tag. A miss (every new record) reads only the small tag array. */
static Py_ssize_t
seen_slot(const Seen *self, const unsigned char *digest)
{
    size_t i, h;
    uint16_t tag;
    if (self->table == NULL)
        return -1;
    memcpy(&h, digest, sizeof h);
    memcpy(&tag, digest + 8, sizeof tag);
    tag |= 1;
    for (i = h & self->mask;; i = (i + 1) & self->mask) {
        if (self->tags[i] == 0 || (self->tags[i] == tag && memcmp(self->table[i].digest, digest, 32) == 0))
            return (Py_ssize_t)i;
    }
}

/* 1 and *index set: found; 0: absent. */
static int
seen_get_digest(const Seen *self, const unsigned char *digest, long long *index)
{
    Py_ssize_t i = seen_slot(self, digest);
    if (i < 0 || self->tags[i] == 0)
        return 0;
    *index = self->table[i].index;
    return 1;
}

static int
seen_set_digest(Seen *self, const unsigned char *digest, long long index)
{
    Py_ssize_t i;
    if (2 * (self->count + 1) > (self->table ? self->mask + 1 : 0)) { /* keep the load at most 1/2 */
        size_t capacity = self->table ? 2 * (self->mask + 1) : 64, old_capacity = self->table ? self->mask + 1 : 0, j;
        uint16_t *old_tags = self->tags, *tags = PyMem_Calloc(capacity, sizeof(uint16_t));
        SeenEntry *old = self->table, *grown = PyMem_Malloc(capacity * sizeof(SeenEntry));
        if (tags == NULL || grown == NULL) {
            PyMem_Free(tags);
            PyMem_Free(grown);
            PyErr_NoMemory();
            return -1;
        }
        self->tags = tags;
        self->table = grown;
        self->mask = capacity - 1;
        for (j = 0; j < old_capacity; j++) {
            if (old_tags[j]) {
                Py_ssize_t k = seen_slot(self, old[j].digest);
                self->tags[k] = old_tags[j];
                self->table[k] = old[j];
            }
        }
        PyMem_Free(old_tags);
        PyMem_Free(old);
    }
    i = seen_slot(self, digest);
    if (self->tags[i] == 0) {
        uint16_t tag;
        memcpy(&tag, digest + 8, sizeof tag);
        memcpy(self->table[i].digest, digest, 32);
        self->tags[i] = tag | 1;
        self->count++;
    }
    self->table[i].index = index;
    return 0;
}

static int
is_digest_key(PyObject *key)
{
    return PyBytes_CheckExact(key) && PyBytes_GET_SIZE(key) == 32;
}

static Py_ssize_t
Seen_length(Seen *self)
{
    return (Py_ssize_t)self->count + PyDict_GET_SIZE(self->other);
}

static PyObject *
Seen_getitem(Seen *self, PyObject *key)
{
    long long index;
    PyObject *value;
    if (!is_digest_key(key)) {
        value = PyDict_GetItemWithError(self->other, key);
        if (value == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, key);
            return NULL;
        }
        return Py_NewRef(value);
    }
    if (!seen_get_digest(self, (const unsigned char *)PyBytes_AS_STRING(key), &index)) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return PyLong_FromLongLong(index);
}

static int
Seen_setitem(Seen *self, PyObject *key, PyObject *value)
{
    long long index;
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "Seen keeps every entry (no deletion)");
        return -1;
    }
    if (!is_digest_key(key))
        return PyDict_SetItem(self->other, key, value);
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "a Seen value is a record index (an int)");
        return -1;
    }
    index = PyLong_AsLongLong(value);
    if (index == -1 && PyErr_Occurred())
        return -1;
    return seen_set_digest(self, (const unsigned char *)PyBytes_AS_STRING(key), index);
}

static int
Seen_contains(Seen *self, PyObject *key)
{
    long long index;
    if (!is_digest_key(key))
        return PyDict_Contains(self->other, key);
    return seen_get_digest(self, (const unsigned char *)PyBytes_AS_STRING(key), &index);
}

/* A dict of every entry (digest bytes -> index, and the other keys): for equality and repr. */
static PyObject *
Seen_to_dict(Seen *self, PyObject *unused)
{
    PyObject *out = PyDict_Copy(self->other);
    size_t i;
    if (out == NULL || self->table == NULL)
        return out;
    for (i = 0; i <= self->mask; i++) {
        SeenEntry *e = &self->table[i];
        PyObject *key, *value;
        int rc;
        if (!self->tags[i])
            continue;
        key = PyBytes_FromStringAndSize((const char *)e->digest, 32);
        value = key ? PyLong_FromLongLong(e->index) : NULL;
        rc = value ? PyDict_SetItem(out, key, value) : -1;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (rc < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

/* Equal to another Seen or a dict with the same entries (as the dict it replaces would be). */
static PyObject *
Seen_richcompare(PyObject *a, PyObject *b, int op)
{
    PyObject *left, *right, *result;
    if ((op != Py_EQ && op != Py_NE) || !(PyObject_TypeCheck(b, &SeenType) || PyDict_Check(b)))
        Py_RETURN_NOTIMPLEMENTED;
    left = Seen_to_dict((Seen *)a, NULL);
    if (left == NULL)
        return NULL;
    right = PyObject_TypeCheck(b, &SeenType) ? Seen_to_dict((Seen *)b, NULL) : Py_NewRef(b);
    if (right == NULL) {
        Py_DECREF(left);
        return NULL;
    }
    result = PyObject_RichCompare(left, right, op);
    Py_DECREF(left);
    Py_DECREF(right);
    return result;
}

static PyObject *
Seen_repr(Seen *self)
{
    PyObject *d = Seen_to_dict(self, NULL), *r;
    if (d == NULL)
        return NULL;
    r = PyUnicode_FromFormat("Seen(%R)", d);
    Py_DECREF(d);
    return r;
}

static PyMappingMethods Seen_mapping = {(lenfunc)Seen_length, (binaryfunc)Seen_getitem, (objobjargproc)Seen_setitem};
static PySequenceMethods Seen_sequence = {.sq_contains = (objobjproc)Seen_contains};
static PyMethodDef Seen_methods[] = {
    {"to_dict", (PyCFunction)Seen_to_dict, METH_NOARGS, "Every entry as a dict (seen_key -> index)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SeenType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "faramesh_cloud.dpr._fastchain.Seen",
    .tp_basicsize = sizeof(Seen),
    .tp_dealloc = (destructor)Seen_dealloc,
    .tp_repr = (reprfunc)Seen_repr,
    .tp_as_sequence = &Seen_sequence,
    .tp_as_mapping = &Seen_mapping,
    .tp_hash = PyObject_HashNotImplemented,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "AgentChain.seen, compiled: seen_key(record_hash) -> index; 32-byte keys in a flat table.",
    .tp_richcompare = Seen_richcompare,
    .tp_methods = Seen_methods,
    .tp_new = Seen_new,
};

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
    record_id = nonempty_str(record, s_record_id, &c_record_id);
    prev = nonempty_str(record, s_prev_record_hash, &c_prev);
    stored = nonempty_str(record, s_record_hash, &c_record_hash);
    agent = nonempty_str(record, s_agent_id, &c_agent_id);
    created_at = nonempty_str(record, s_created_at, &c_created_at);
    if (!record_id || !prev || !stored || !agent || !created_at) {
        applied = 0;
        goto done;
    }
    algorithm = get_attr(record, s_canonicalization_algorithm, &c_algorithm);
    lamport = get_attr(record, s_lamport_seq, &c_lamport);
    defer = get_attr(record, s_defer_token, &c_defer);
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
    tip = get_attr(chain, s_tip, &c_tip);
    seen = get_attr(chain, s_seen, &c_seen);
    awaited = get_attr(chain, s_awaited, &c_awaited);
    length = get_attr(chain, s_length, &c_length);
    first_index = get_attr(chain, s_first_index, &c_first_index);
    if (!tip || !seen || !awaited || !length || !first_index)
        goto done;
    if (!PyUnicode_CheckExact(tip) || !(Py_IS_TYPE(seen, &SeenType) || PyDict_CheckExact(seen))
        || !PyAnySet_CheckExact(awaited)
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
    /* seen's key for a lower-case hex hash: its bytes */
    if (Py_IS_TYPE(seen, &SeenType)) {
        long long found;
        eq = seen_get_digest((Seen *)seen, (const unsigned char *)PyBytes_AS_STRING(digest), &found);
    } else {
        eq = PyDict_Contains(seen, digest);
    }
    if (eq != 0) {
        applied = eq < 0 ? -1 : 0;
        goto done;
    }
    /* Every check passed: apply, in ChainVerifier.add's order. */
    new_length = PyNumber_Add(length, one);
    if (new_length == NULL)
        goto done;
    if (set_attr(chain, s_tip, stored, &c_set_tip) < 0
        || (Py_IS_TYPE(seen, &SeenType) ? Seen_setitem((Seen *)seen, digest, index)
                                        : PyDict_SetItem(seen, digest, index)) < 0
        || set_attr(chain, s_length, new_length, &c_set_length) < 0
        || set_attr(chain, s_last_index, index, &c_set_last_index) < 0
        || set_attr(chain, s_last_record_id, record_id, &c_set_last_record_id) < 0
        || set_attr(chain, s_last_created_at, created_at, &c_set_last_created_at) < 0)
        goto done;
    {
        int truthy = PyObject_IsTrue(lamport);
        if (truthy < 0 || (truthy && set_attr(chain, s_last_lamport, lamport, &c_set_last_lamport) < 0))
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

/* run_frames(frames, decode, control_version, chains, sha256, verifier, slow_frame, deferred):
 * the WAL loop of sources.DprSource._wal and add_items in one, for a lean WAL. ``frames``
 * yields (offset, version, payload) (WalReader, the same Python reader the bench's ceiling
 * runs); each record frame is decoded by ``decode`` (dpr.view.decode_view, the ceiling's
 * decoder) and its record numbered from 0 as _wal numbers it. An unremarkable record is
 * applied by fast_add with no Item and no "where" string built; a control frame, a frame
 * ``decode`` leaves to the full parser, and every record fast_add hands over go to
 * ``slow_frame(offset, version, payload, index, decoded)``, which builds the Item _wal would
 * have yielded and runs ChainVerifier.add (or the caller's ``other``) on it. A record with a
 * defer token goes to ``deferred(record, index, "byte offset N")``. Returns the number of
 * record frames read. */
static PyObject *
run_frames(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *iterator, *decode, *control_version, *chains, *sha256, *verifier, *slow_frame, *deferred, *frame;
    Py_ssize_t applied = 0, index = 0;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError,
                        "run_frames(frames, decode, control_version, chains, sha256, verifier, slow_frame, deferred)");
        return NULL;
    }
    decode = args[1];
    control_version = args[2];
    chains = args[3];
    sha256 = args[4];
    verifier = args[5];
    slow_frame = args[6];
    deferred = args[7];
    if (!PyDict_CheckExact(chains)) {
        PyErr_SetString(PyExc_TypeError, "chains must be a dict");
        return NULL;
    }
    iterator = PyObject_GetIter(args[0]);
    if (iterator == NULL)
        return NULL;
    while ((frame = PyIter_Next(iterator)) != NULL) {
        int done = 0, control;
        PyObject *offset, *version, *payload, *decoded = NULL, *index_obj = NULL, *result;
        if (!PyTuple_Check(frame) || PyTuple_GET_SIZE(frame) != 3) {
            PyErr_SetString(PyExc_TypeError, "a frame is an (offset, version, payload) tuple");
            Py_DECREF(frame);
            break;
        }
        offset = PyTuple_GET_ITEM(frame, 0);
        version = PyTuple_GET_ITEM(frame, 1);
        payload = PyTuple_GET_ITEM(frame, 2);
        control = PyObject_RichCompareBool(version, control_version, Py_EQ);
        if (control < 0) {
            done = -1;
        } else if (control) {
            if (flush(verifier, applied) < 0) {
                done = -1;
            } else {
                applied = 0;
                result = PyObject_CallFunctionObjArgs(slow_frame, offset, version, payload, Py_None, Py_None, NULL);
                if (result == NULL)
                    done = -1;
                else
                    Py_DECREF(result);
            }
        } else {
            index_obj = PyLong_FromSsize_t(index++);
            decoded = index_obj ? PyObject_CallOneArg(decode, payload) : NULL;
            if (decoded == NULL)
                done = -1;
            else if (PyTuple_CheckExact(decoded) && PyTuple_GET_SIZE(decoded) == 2)
                done = fast_add(PyTuple_GET_ITEM(decoded, 0), PyTuple_GET_ITEM(decoded, 1), index_obj, chains, sha256);
            if (done == 1) {
                applied++;
            } else if (done == 2) {
                PyObject *where = PyUnicode_FromFormat("byte offset %S", offset);
                applied++;
                result = where ? PyObject_CallFunctionObjArgs(deferred, PyTuple_GET_ITEM(decoded, 0), index_obj,
                                                              where, NULL)
                               : NULL;
                Py_XDECREF(where);
                if (result == NULL)
                    done = -1;
                else
                    Py_DECREF(result);
            } else if (done == 0) {
                if (flush(verifier, applied) < 0) {
                    done = -1;
                } else {
                    applied = 0;
                    result = PyObject_CallFunctionObjArgs(slow_frame, offset, version, payload, index_obj, decoded,
                                                          NULL);
                    if (result == NULL)
                        done = -1;
                    else
                        Py_DECREF(result);
                }
            }
        }
        Py_XDECREF(decoded);
        Py_XDECREF(index_obj);
        Py_DECREF(frame);
        if (done < 0)
            break;
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        flush(verifier, applied); /* what was applied counts even when the source fails */
        PyErr_Restore(type, value, tb);
        return NULL;
    }
    if (flush(verifier, applied) < 0)
        return NULL;
    return PyLong_FromSsize_t(index);
}

static PyMethodDef methods[] = {
    {"run", (PyCFunction)(void (*)(void))run, METH_FASTCALL,
     "run(items, chains, sha256, verifier, slow, deferred): ChainVerifier.add_items' loop, compiled."},
    {"run_frames", (PyCFunction)(void (*)(void))run_frames, METH_FASTCALL,
     "run_frames(frames, decode, control_version, chains, sha256, verifier, slow_frame, deferred): a lean WAL's "
     "loop (sources.DprSource._wal and add_items), compiled."},
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
    if (PyType_Ready(&SeenType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&SeenType);
    if (PyModule_AddObject(m, "Seen", (PyObject *)&SeenType) < 0) {
        Py_DECREF(&SeenType);
        Py_DECREF(m);
        return NULL;
    }
    /* The algorithm names compiled in: chain.py uses this module only if they are its own. */
    if (PyModule_AddObject(m, "ALGORITHMS", Py_BuildValue("(OO)", s_jcs, s_legacy)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
