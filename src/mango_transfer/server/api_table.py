"""Who may call which API, as iRODS 5.0.2 decides before any handler runs.

The real server checks every request in one place (``rsApiHandler``), in this order:

1. the caller's authentication level against the API's required level, for the client user and
   for the proxy user (``chkApiPermission``): an agent starts at ``NO_USER``; a native or PAM
   login makes a rodsuser ``LOCAL_USER`` and a rodsadmin ``LOCAL_PRIV``;
2. for a caller that is not a rodsadmin, a fixed allowlist of client APIs
   (``client_api_allowlist``): an API missing from it is refused whatever its level says. This
   is why ``modDataObjMeta`` (622) is admin-only although its level is ``REMOTE_USER``;
3. that a request carries an input struct exactly when the API takes one.

A refusal in step 1 or 2 is ``SYS_NO_API_PRIV`` (-13000), in step 3 ``SYS_API_INPUT_ERR``
(-14000), both sent with no body and no error stack. ``API_TABLE`` holds the facts per API:
the entries of the server's ``apiTable.hpp`` and of the API plugins it ships, and the allowlist
of ``client_api_allowlist.cpp`` together with the plugins that add themselves to it. A sweep of
every entry as a rodsuser on a live 5.0.2 zone matched it. A number missing from the table is
unknown to iRODS: the real agent, and so ours, sends no reply at all and reads the next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .catalog import User
from .codes import SYS_API_INPUT_ERR, SYS_NO_API_PRIV


class Auth(IntEnum):
    """Authentication levels (``rodsUser.h``); a caller may call an API at or below its own."""

    NO_USER = 0
    REMOTE_USER = 2
    LOCAL_USER = 3
    REMOTE_PRIV = 4
    LOCAL_PRIV = 5


NO_USER, REMOTE_USER, LOCAL_USER = Auth.NO_USER, Auth.REMOTE_USER, Auth.LOCAL_USER
REMOTE_PRIV, LOCAL_PRIV = Auth.REMOTE_PRIV, Auth.LOCAL_PRIV


@dataclass(frozen=True)
class Api:
    name: str
    client_auth: Auth
    proxy_auth: Auth
    takes_input: bool = True
    allowlisted: bool = True  # in the allowlist that binds every caller but a rodsadmin


API_TABLE: dict[int, Api] = {
    500: Api("FILE_CREATE", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    501: Api("FILE_OPEN", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    502: Api("FILE_WRITE", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    503: Api("FILE_CLOSE", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    504: Api("FILE_LSEEK", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    505: Api("FILE_READ", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    506: Api("FILE_UNLINK", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    507: Api("FILE_MKDIR", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    508: Api("FILE_CHMOD", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    509: Api("FILE_RMDIR", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    510: Api("FILE_STAT", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    514: Api("FILE_GET_FS_FREE_SPACE", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    515: Api("FILE_OPENDIR", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    516: Api("FILE_CLOSEDIR", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    517: Api("FILE_READDIR", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    518: Api("FILE_PUT", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    519: Api("FILE_GET", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    520: Api("FILE_CHKSUM", REMOTE_USER, REMOTE_USER, allowlisted=False),
    521: Api("CHK_N_V_PATH_PERM", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    522: Api("FILE_RENAME", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    523: Api("FILE_TRUNCATE", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    524: Api("FILE_STAGE_TO_CACHE", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    525: Api("FILE_SYNC_TO_ARCH", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    601: Api("DATA_OBJ_CREATE", REMOTE_USER, REMOTE_USER),
    602: Api("DATA_OBJ_OPEN", REMOTE_USER, REMOTE_USER),
    606: Api("DATA_OBJ_PUT", REMOTE_USER, REMOTE_USER),
    607: Api("DATA_PUT", REMOTE_USER, REMOTE_PRIV),
    608: Api("DATA_OBJ_GET", REMOTE_USER, REMOTE_USER),
    609: Api("DATA_GET", REMOTE_USER, REMOTE_PRIV),
    611: Api("DATA_COPY", REMOTE_USER, REMOTE_PRIV, allowlisted=False),
    615: Api("DATA_OBJ_UNLINK", REMOTE_USER, REMOTE_USER),
    619: Api("REG_DATA_OBJ", REMOTE_USER, REMOTE_USER),
    620: Api("UNREG_DATA_OBJ", REMOTE_USER, REMOTE_USER),
    621: Api("REG_REPLICA", REMOTE_USER, REMOTE_PRIV),
    622: Api("MOD_DATA_OBJ_META", REMOTE_USER, REMOTE_USER, allowlisted=False),
    623: Api("RULE_EXEC_SUBMIT", REMOTE_USER, REMOTE_PRIV),
    624: Api("RULE_EXEC_DEL", REMOTE_USER, LOCAL_USER),
    625: Api("EXEC_MY_RULE", REMOTE_USER, REMOTE_USER),
    626: Api("OPR_COMPLETE", REMOTE_USER, REMOTE_USER),
    627: Api("DATA_OBJ_RENAME", REMOTE_USER, REMOTE_USER),
    628: Api("DATA_OBJ_RSYNC", REMOTE_USER, REMOTE_USER),
    629: Api("DATA_OBJ_CHKSUM", REMOTE_USER, REMOTE_USER),
    630: Api("PHY_PATH_REG", REMOTE_USER, REMOTE_USER),
    632: Api("DATA_OBJ_TRIM", REMOTE_USER, REMOTE_USER),
    633: Api("OBJ_STAT", REMOTE_USER, REMOTE_USER),
    635: Api("SUB_STRUCT_FILE_CREATE", REMOTE_USER, REMOTE_PRIV),
    636: Api("SUB_STRUCT_FILE_OPEN", REMOTE_USER, REMOTE_PRIV),
    637: Api("SUB_STRUCT_FILE_READ", REMOTE_USER, REMOTE_PRIV),
    638: Api("SUB_STRUCT_FILE_WRITE", REMOTE_USER, REMOTE_PRIV),
    639: Api("SUB_STRUCT_FILE_CLOSE", REMOTE_USER, REMOTE_PRIV),
    640: Api("SUB_STRUCT_FILE_UNLINK", REMOTE_USER, REMOTE_PRIV),
    641: Api("SUB_STRUCT_FILE_STAT", REMOTE_USER, REMOTE_PRIV),
    643: Api("SUB_STRUCT_FILE_LSEEK", REMOTE_USER, REMOTE_PRIV),
    644: Api("SUB_STRUCT_FILE_RENAME", REMOTE_USER, REMOTE_PRIV),
    645: Api("QUERY_SPEC_COLL", REMOTE_USER, REMOTE_USER),
    647: Api("SUB_STRUCT_FILE_MKDIR", REMOTE_USER, REMOTE_PRIV),
    648: Api("SUB_STRUCT_FILE_RMDIR", REMOTE_USER, REMOTE_PRIV),
    649: Api("SUB_STRUCT_FILE_OPENDIR", REMOTE_USER, REMOTE_PRIV),
    650: Api("SUB_STRUCT_FILE_READDIR", REMOTE_USER, REMOTE_PRIV),
    651: Api("SUB_STRUCT_FILE_CLOSEDIR", REMOTE_USER, REMOTE_PRIV),
    652: Api("DATA_OBJ_TRUNCATE", REMOTE_USER, REMOTE_USER),
    653: Api("SUB_STRUCT_FILE_TRUNCATE", REMOTE_USER, REMOTE_PRIV),
    657: Api("SUB_STRUCT_FILE_GET", REMOTE_USER, REMOTE_USER),
    658: Api("SUB_STRUCT_FILE_PUT", REMOTE_USER, REMOTE_USER),
    659: Api("SYNC_MOUNTED_COLL", REMOTE_USER, REMOTE_USER),
    660: Api("STRUCT_FILE_SYNC", REMOTE_USER, REMOTE_USER),
    661: Api("CLOSE_COLLECTION", REMOTE_USER, REMOTE_USER),
    664: Api("STRUCT_FILE_EXTRACT", REMOTE_USER, REMOTE_USER),
    665: Api("STRUCT_FILE_EXT_AND_REG", REMOTE_USER, REMOTE_USER),
    666: Api("STRUCT_FILE_BUNDLE", REMOTE_USER, REMOTE_USER),
    667: Api("CHK_OBJ_PERM_AND_STAT", REMOTE_USER, REMOTE_USER),
    668: Api("GET_REMOTE_ZONE_RESC", REMOTE_USER, REMOTE_USER),
    669: Api("DATA_OBJ_OPEN_AND_STAT", REMOTE_USER, REMOTE_USER),
    670: Api("L3_FILE_GET_SINGLE_BUF", REMOTE_USER, REMOTE_USER, allowlisted=False),
    671: Api("L3_FILE_PUT_SINGLE_BUF", REMOTE_USER, REMOTE_USER),
    672: Api("DATA_OBJ_CREATE_AND_STAT", REMOTE_USER, REMOTE_USER),
    673: Api("DATA_OBJ_CLOSE", REMOTE_USER, REMOTE_USER),
    674: Api("DATA_OBJ_LSEEK", REMOTE_USER, REMOTE_USER),
    675: Api("DATA_OBJ_READ", REMOTE_USER, REMOTE_USER),
    676: Api("DATA_OBJ_WRITE", REMOTE_USER, REMOTE_USER),
    677: Api("COLL_REPL", REMOTE_USER, REMOTE_USER),
    678: Api("OPEN_COLLECTION", REMOTE_USER, REMOTE_USER),
    679: Api("RM_COLL", REMOTE_USER, REMOTE_USER),
    680: Api("MOD_COLL", REMOTE_USER, REMOTE_USER),
    681: Api("COLL_CREATE", REMOTE_USER, REMOTE_USER),
    683: Api("REG_COLL", REMOTE_USER, REMOTE_USER),
    685: Api("UNBUN_AND_REG_PHY_BUNFILE", REMOTE_USER, REMOTE_PRIV),
    686: Api("GET_HOST_FOR_PUT", REMOTE_USER, REMOTE_USER),
    687: Api("GET_RESC_QUOTA", REMOTE_USER, REMOTE_USER),
    688: Api("BULK_DATA_OBJ_REG", REMOTE_USER, REMOTE_USER),
    689: Api("BULK_DATA_OBJ_PUT", REMOTE_USER, REMOTE_USER),
    690: Api("PROC_STAT", REMOTE_USER, REMOTE_USER),
    691: Api("STREAM_READ", REMOTE_USER, REMOTE_USER, allowlisted=False),
    692: Api("EXEC_CMD", REMOTE_USER, REMOTE_USER, allowlisted=False),
    693: Api("STREAM_CLOSE", REMOTE_USER, REMOTE_USER, allowlisted=False),
    694: Api("GET_HOST_FOR_GET", REMOTE_USER, REMOTE_USER),
    695: Api("DATA_OBJ_REPL", REMOTE_USER, REMOTE_USER),
    696: Api("DATA_OBJ_COPY", REMOTE_USER, REMOTE_USER),
    697: Api("DATA_OBJ_PHYMV", REMOTE_USER, REMOTE_USER),
    700: Api("GET_MISC_SVR_INFO", NO_USER, NO_USER, takes_input=False),
    701: Api("GENERAL_ADMIN", LOCAL_PRIV, LOCAL_PRIV),
    702: Api("GEN_QUERY", REMOTE_USER, REMOTE_USER),
    703: Api("AUTH_REQUEST", NO_USER, NO_USER, takes_input=False),
    704: Api("AUTH_RESPONSE", NO_USER, NO_USER),
    705: Api("AUTH_CHECK", NO_USER, NO_USER),
    706: Api("MOD_AVU_METADATA", REMOTE_USER, REMOTE_USER),
    707: Api("MOD_ACCESS_CONTROL", REMOTE_USER, REMOTE_USER),
    708: Api("RULE_EXEC_MOD", LOCAL_USER, LOCAL_PRIV),
    709: Api("GET_TEMP_PASSWORD", REMOTE_USER, REMOTE_USER, takes_input=False),
    713: Api("READ_COLLECTION", REMOTE_USER, REMOTE_USER),
    714: Api("USER_ADMIN", REMOTE_USER, REMOTE_USER),
    718: Api("END_TRANSACTION", REMOTE_USER, REMOTE_USER, allowlisted=False),
    722: Api("SPECIFIC_QUERY", REMOTE_USER, REMOTE_USER),
    723: Api("TICKET_ADMIN", REMOTE_USER, REMOTE_USER),
    724: Api("GET_TEMP_PASSWORD_FOR_OTHER", LOCAL_PRIV, LOCAL_PRIV),
    725: Api("PAM_AUTH_REQUEST", NO_USER, NO_USER),
    726: Api("GET_LIMITED_PASSWORD", REMOTE_USER, REMOTE_USER),
    800: Api("CHECK_AUTH_CREDENTIALS", LOCAL_PRIV, LOCAL_PRIV, allowlisted=False),
    801: Api("GET_LIBRARY_FEATURES", NO_USER, NO_USER, takes_input=False),
    802: Api("REPLICA_TRUNCATE", REMOTE_USER, REMOTE_USER),
    1100: Api("SSL_START", NO_USER, NO_USER),
    1101: Api("SSL_END", NO_USER, NO_USER),
    1201: Api("AUTH_PLUG_REQ", NO_USER, NO_USER),
    1203: Api("GET_HIER_FOR_RESC", NO_USER, NO_USER),
    1204: Api("GET_HIER_FROM_LEAF_ID", REMOTE_USER, REMOTE_USER),
    1206: Api("EXEC_RULE_EXPRESSION", LOCAL_USER, LOCAL_USER),
    10204: Api("SERVER_REPORT", REMOTE_PRIV, REMOTE_PRIV, takes_input=False),
    10205: Api("ZONE_REPORT", LOCAL_PRIV, LOCAL_PRIV, takes_input=False),
    10215: Api("CLIENT_HINTS", REMOTE_USER, REMOTE_USER, takes_input=False),
    10216: Api("IES_CLIENT_HINTS", REMOTE_USER, REMOTE_USER, takes_input=False, allowlisted=False),
    10220: Api("GET_RESOURCE_INFO_FOR_OPERATION", REMOTE_USER, REMOTE_USER),
    10221: Api("GENQUERY2", REMOTE_USER, REMOTE_USER),
    10222: Api("DELAY_RULE_LOCK", LOCAL_PRIV, LOCAL_PRIV, allowlisted=False),
    10223: Api("DELAY_RULE_UNLOCK", LOCAL_PRIV, LOCAL_PRIV, allowlisted=False),
    10224: Api("UPDATE_REPLICA_ACCESS_TIME", LOCAL_PRIV, LOCAL_PRIV, allowlisted=False),
    20000: Api("GET_FILE_DESCRIPTOR_INFO", REMOTE_USER, REMOTE_USER),
    20001: Api("DATA_OBJECT_MODIFY_INFO", REMOTE_USER, REMOTE_USER),
    20002: Api("ATOMIC_APPLY_METADATA_OPERATIONS", REMOTE_USER, REMOTE_USER),
    20003: Api("REPLICA_OPEN", REMOTE_USER, REMOTE_USER),
    20004: Api("REPLICA_CLOSE", REMOTE_USER, REMOTE_USER),
    20005: Api("ATOMIC_APPLY_ACL_OPERATIONS", REMOTE_USER, REMOTE_USER),
    20006: Api("DATA_OBJECT_FINALIZE", REMOTE_USER, REMOTE_USER, allowlisted=False),
    20007: Api("TOUCH", REMOTE_USER, REMOTE_USER),
    20008: Api("REGISTER_PHYSICAL_PATH", REMOTE_USER, REMOTE_USER),
    20009: Api("GET_GRID_CONFIGURATION_VALUE", LOCAL_PRIV, LOCAL_PRIV, allowlisted=False),
    20010: Api("SET_GRID_CONFIGURATION_VALUE", LOCAL_PRIV, LOCAL_PRIV, allowlisted=False),
    20011: Api("SET_DELAY_SERVER_MIGRATION_INFO", LOCAL_PRIV, LOCAL_PRIV, allowlisted=False),
    20012: Api("SWITCH_USER", NO_USER, NO_USER),
    20013: Api("GET_DELAY_RULE_INFO", LOCAL_PRIV, LOCAL_PRIV, allowlisted=False),
    110000: Api("AUTHENTICATION", NO_USER, NO_USER),
    120000: Api("ADAPTER", NO_USER, NO_USER),
}


def caller_level(user: User | None) -> Auth:
    """A connection's level: nobody before login, then by the user's type (local zone only)."""
    if user is None:
        return NO_USER
    return LOCAL_PRIV if user.is_admin else LOCAL_USER


def refusal(number: int, user: User | None, has_input: bool) -> int | None:
    """The status the real server answers before running API ``number``, or None to run it.

    Our connections carry one user, who is both client and proxy user.
    """
    api = API_TABLE.get(number)
    if api is None:
        return None
    level = caller_level(user)
    if max(api.client_auth, api.proxy_auth) > level:
        return SYS_NO_API_PRIV
    if level < LOCAL_PRIV and not api.allowlisted:
        return SYS_NO_API_PRIV
    if has_input != api.takes_input:
        return SYS_API_INPUT_ERR
    return None
