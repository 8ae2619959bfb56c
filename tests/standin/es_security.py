"""Authentication and index privileges of the Elasticsearch stand-in.

With a Security object the stand-in behaves like an Elasticsearch 8
cluster with security on: every request needs Basic, ApiKey or Bearer
credentials (401 with the WWW-Authenticate challenges otherwise), a bulk
request by a principal without write privileges gets a 403, and
`_security/user/_has_privileges` reports index privileges. Without one,
security is off and that endpoint does not exist, as in Elasticsearch 8
with xpack.security.enabled: false.
"""

import base64
import binascii

from es_model import EsError

# The challenges Elasticsearch 8 sends with a 401, one header each.
WWW_AUTHENTICATE = [
    'Basic realm="security" charset="UTF-8"',
    'Bearer realm="security"',
    "ApiKey",
]

# Index privileges a principal with write access holds, and those any
# authenticated principal of the stand-in holds.
WRITE_PRIVILEGES = frozenset(("create_doc", "create", "index", "write",
                              "all", "auto_configure"))
READ_PRIVILEGES = frozenset(("read", "view_index_metadata", "monitor"))
KNOWN_PRIVILEGES = WRITE_PRIVILEGES | READ_PRIVILEGES | frozenset((
    "delete", "delete_index", "create_index", "manage", "maintenance",
    "manage_follow_index", "manage_ilm", "manage_data_stream_lifecycle",
    "read_cross_cluster", "none",
))

ANONYMOUS_REASON = ("unable to authenticate with provided credentials and "
                    "anonymous access is not allowed for this request")


class AuthError(EsError):
    """A security_exception that also carries the reply headers."""

    def __init__(self, status, reason, reply_headers=None):
        if status == 401:
            super().__init__(status, "security_exception", reason,
                             header={"WWW-Authenticate": WWW_AUTHENTICATE})
            reply_headers = [("WWW-Authenticate", value)
                             for value in WWW_AUTHENTICATE]
        else:
            super().__init__(status, "security_exception", reason)
        self.reply_headers = reply_headers or []


class Principal:
    """An authenticated caller: a user, or an API key owned by one."""

    def __init__(self, username, may_write, api_key_id=None):
        self.username = username
        self.may_write = may_write
        self.api_key_id = api_key_id

    def describe(self):
        if self.api_key_id is not None:
            return "API key id [%s] of user [%s]" % (self.api_key_id,
                                                     self.username)
        return "user [%s]" % self.username

    def has_privilege(self, privilege):
        if privilege in WRITE_PRIVILEGES:
            return self.may_write
        return privilege in READ_PRIVILEGES


class Security:
    """Users, API keys and bearer tokens the stand-in accepts."""

    def __init__(self):
        self.users = {}
        self.api_keys = {}
        self.tokens = {}
        self.failures = 0  # requests rejected with 401

    def add_user(self, name, password, may_write=True):
        self.users[name] = (password, may_write)
        return self

    def add_api_key(self, key_id, key, owner="elastic", may_write=True):
        self.api_keys[key_id] = (key, owner, may_write)
        return self

    def add_token(self, token, owner="elastic", may_write=True):
        self.tokens[token] = (owner, may_write)
        return self

    def authenticate(self, headers, path):
        """Return the Principal of a request, or raise a 401 AuthError."""
        header = headers.get("Authorization")
        if not header:
            self.failures += 1
            raise AuthError(401, "missing authentication credentials for "
                            "REST request [%s]" % path)
        scheme, _, value = header.partition(" ")
        principal = None
        if scheme == "Basic":
            user, password = decode_pair(value)
            entry = self.users.get(user)
            if entry is not None and entry[0] == password:
                principal = Principal(user, entry[1])
            elif user is not None:
                self.failures += 1
                raise AuthError(401, "unable to authenticate user [%s] for "
                                "REST request [%s]" % (user, path))
        elif scheme == "ApiKey":
            key_id, key = decode_pair(value)
            entry = self.api_keys.get(key_id)
            if entry is not None and entry[0] == key:
                principal = Principal(entry[1], entry[2], key_id)
        elif scheme == "Bearer":
            entry = self.tokens.get(value)
            if entry is not None:
                principal = Principal(entry[0], entry[1])
        if principal is None:
            self.failures += 1
            raise AuthError(401, ANONYMOUS_REASON)
        return principal

    def check_bulk(self, principal):
        """Raise the 403 of a bulk request without write privileges."""
        if not principal.may_write:
            raise AuthError(403, "action [indices:data/write/bulk] is "
                            "unauthorized for %s with effective roles "
                            "[viewer], this action is granted by the index "
                            "privileges [create_doc,create,delete,index,"
                            "write,all]" % principal.describe())

    def has_privileges(self, principal, request):
        """Return the reply to POST _security/user/_has_privileges."""
        if not isinstance(request, dict):
            raise EsError(400, "parse_exception", "failed to parse "
                          "privileges check: expected an object")
        unknown = set(request) - {"cluster", "index", "application"}
        if unknown:
            raise EsError(400, "parse_exception", "failed to parse "
                          "privileges check for [%s]. unexpected field [%s]"
                          % (principal.username, sorted(unknown)[0]))
        result = {"username": principal.username, "has_all_requested": True,
                  "cluster": {}, "index": {}, "application": {}}
        for name in request.get("cluster", []):
            result["cluster"][name] = False
            result["has_all_requested"] = False
        for entry in request.get("index", []):
            names = entry.get("names")
            privileges = entry.get("privileges")
            if not names or not privileges:
                raise EsError(400, "action_request_validation_exception",
                              "Validation Failed: 1: indices privileges "
                              "must have at least one index name and one "
                              "privilege;")
            if isinstance(names, str):
                names = [names]
            for privilege in privileges:
                if privilege not in KNOWN_PRIVILEGES:
                    raise EsError(400, "illegal_argument_exception",
                                  "unknown index privilege [%s]. a "
                                  "privilege must be either one of the "
                                  "predefined fixed indices privileges or "
                                  "must be a pattern" % privilege)
            for name in names:
                granted = result["index"].setdefault(name, {})
                for privilege in privileges:
                    allowed = principal.has_privilege(privilege)
                    granted[privilege] = allowed
                    if not allowed:
                        result["has_all_requested"] = False
        return result


def decode_pair(value):
    """Decode base64("a:b") into ("a", "b"), or (None, None) when the
    value has another form."""
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    first, sep, second = text.partition(":")
    if not sep:
        return None, None
    return first, second
