/* At most one "how to reply" SMS per number per interval (ack_hint.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_hint.h"
#include "ack_parse.h"
#include "xmalloc.h"

struct ack_hint_slot {
	char number[ACK_NUMBER_MAX]; /* "" when free */
	int64_t last_ms;
};

struct ack_hint {
	struct ack_hint_slot slots[ACK_HINT_SLOTS];
};

struct ack_hint *
ack_hint_new(void)
{
	return xcalloc(1, sizeof(struct ack_hint));
}

void
ack_hint_free(struct ack_hint *h)
{
	free(h);
}

int
ack_hint_take(struct ack_hint *h, const char *number, int64_t now_ms,
    int64_t interval_ms)
{
	struct ack_hint_slot *s, *oldest = &h->slots[0];
	size_t i;

	for (i = 0; i < ACK_HINT_SLOTS; i++) {
		s = &h->slots[i];
		if (s->number[0] != '\0' && strcmp(s->number, number) == 0) {
			/* A clock that went back counts as "just now". */
			if (now_ms < s->last_ms) {
				s->last_ms = now_ms;
				return 0;
			}
			if (now_ms - s->last_ms < interval_ms)
				return 0;
			s->last_ms = now_ms;
			return 1;
		}
		if (s->number[0] == '\0' ||
		    (oldest->number[0] != '\0' && s->last_ms < oldest->last_ms))
			oldest = s;
	}
	snprintf(oldest->number, sizeof(oldest->number), "%s", number);
	oldest->last_ms = now_ms;
	return 1;
}
