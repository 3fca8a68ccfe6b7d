/*
 * hex.h - kept for the files that include it by path ("../util/hex.h":
 * msg/codec.c, msg/rfc2047.c) until they include "mail/hex.h", the
 * public header of util/hex.c, themselves.  Nothing else belongs here.
 */
#ifndef MAIL_UTIL_HEX_H
#define MAIL_UTIL_HEX_H

#include "mail/hex.h"

#endif
