/*
 * How an operation's run ends, as the library's status (enum
 * ar_status): one mapping for send, cancel, status and follow, from
 * the run's exit code and the last relay's error code (ar_internal.h).
 */
#include <string.h>

#include "alertctl.h"
#include "ar_internal.h"
#include "relay_run.h"

int
ar_outcome_failed(const char *code, int deadline)
{
	if (relay_code_shut_out(code))
		return AR_E_REVOKED;
	/* every relay said an error code, the last this */
	if (!deadline && strcmp(code, "unknown_alert") == 0)
		return AR_E_UNKNOWN_ALERT;
	return deadline ? AR_E_TIMEOUT : AR_E_REFUSED;
}

int
ar_outcome_ended(int status, int exit_code, int fallback)
{
	if (exit_code == EXIT_OK)
		return AR_OK;
	return status != AR_OK ? status : fallback;
}
