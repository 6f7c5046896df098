/* Who the admin listener answers (see admin_auth.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "admin_auth.h"

int
admin_auth_token(const char *authorization, const char *token)
{
	size_t n;

	if (token == NULL || authorization == NULL ||
	    strncmp(authorization, "Bearer ", 7) != 0)
		return 0;
	authorization += 7;
	n = strlen(token);
	return strlen(authorization) == n &&
	    sodium_memcmp(authorization, token, n) == 0;
}
