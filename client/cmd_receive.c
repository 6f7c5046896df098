#include "alertctl.h"
int
cmd_receive(int argc, char **argv, struct globals *g)
{
	(void)argc;
	(void)argv;
	(void)g;
	return 1;
}
