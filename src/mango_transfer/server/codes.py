"""iRODS error codes the embedded server returns.

The numbers are the real server's (rodsErrorTable.h of iRODS 5.0.2), so python-irodsclient raises
exactly the exception class it would raise against a production zone.  Keeping them in one place
makes it easy to audit that we never invent a code.
"""

from __future__ import annotations

SYS_HEADER_READ_LEN_ERR = -4000
SYS_UNMATCHED_API_NUM = -12000
SYS_NO_API_PRIV = -13000
SYS_API_INPUT_ERR = -14000
SYS_PACK_INSTRUCT_FORMAT_ERR = -15000
SYS_FILE_DESC_OUT_OF_RANGE = -19000
SYS_BAD_FILE_DESCRIPTOR = -23000
SYS_COPY_LEN_ERR = -27000
SYS_INVALID_FILE_PATH = -31000
SYS_NOT_SUPPORTED = -66000
SYS_INVALID_INPUT_PARAM = -130000
SYS_REPLICA_DOES_NOT_EXIST = -164000
SYS_NO_GOOD_REPLICA = -166000
SYS_REPLICA_INACCESSIBLE = -168000
SYS_NOT_ALLOWED = -169000
SERVER_NEGOTIATION_ERROR = -192000
USER_AUTH_SCHEME_ERR = -300000
USER_PACKSTRUCT_INPUT_ERR = -308000
USER_FILE_DOES_NOT_EXIST = -310000
OVERWRITE_WITHOUT_FORCE_FLAG = -312000
USER_CHKSUM_MISMATCH = -314000
USER_INPUT_PATH_ERR = -317000
BAD_INPUT_DESC_INDEX = -345000
CANT_RM_NON_EMPTY_HOME_COLL = -354000
OBJ_PATH_DOES_NOT_EXIST = -358000
USER_FILE_SIZE_MISMATCH = -401000
USER_INCOMPATIBLE_PARAMS = -402000
USER_INVALID_REPLICA_INPUT = -403000
INTERMEDIATE_REPLICA_ACCESS = -405000
CHECK_VERIFICATION_RESULTS = -407000
UNIX_FILE_WRITE_ERR = -513000
UNIX_FILE_LSEEK_ERR = -518000
CAT_SQL_ERR = -806000
CAT_NO_ROWS_FOUND = -808000
CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME = -809000
CAT_UNKNOWN_COLLECTION = -814000
CAT_INVALID_ARGUMENT = -816000
CAT_UNKNOWN_FILE = -817000
CAT_NO_ACCESS_PERMISSION = -818000
CAT_SUCCESS_BUT_WITH_NO_INFO = -819000
CAT_COLLECTION_NOT_EMPTY = -821000
CAT_INVALID_AUTHENTICATION = -826000
CAT_INVALID_USER = -827000
CAT_INSUFFICIENT_PRIVILEGE_LEVEL = -830000
CAT_NAME_EXISTS_AS_COLLECTION = -833000
CAT_NAME_EXISTS_AS_DATAOBJ = -834000
CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION = -836000
CAT_RECURSIVE_MOVE = -837000
CAT_PASSWORD_EXPIRED = -840000
CAT_NO_CHECKSUM_FOR_REPLICA = -862000
PAM_AUTH_PASSWORD_FAILED = -993000
INPUT_ARG_NOT_WELL_FORMED_ERR = -1084000
INVALID_OBJECT_TYPE = -1105000
HIERARCHY_ERROR = -1803000


class IrodsError(Exception):
    """An API call failed with an iRODS status code; the connection itself stays usable."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else str(code))
        self.code = code
        self.message = message or str(code)


class ProtocolViolation(Exception):
    """The peer broke the framing; the only safe answer is to drop the connection.

    ``code`` is the iRODS status the real server names such a frame with, when it has one: a
    broken startup message is answered with it in a ``Version_PI`` before the connection closes.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
