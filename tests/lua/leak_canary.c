// SPDX-License-Identifier: MIT
/* A Lua module that leaks on purpose: test lua.asan_catches_leaks loads it to
 * prove that the preloaded ASan runtime reports leaks from a module loaded
 * into Debian's uninstrumented lua5.4, so that a clean lua.* run means
 * something. */
#include <lua.h>

#include <stdlib.h>
#include <string.h>

LUAMOD_API int luaopen_leak_canary(lua_State *L)
{
	char *lost = malloc(4242);

	memset(lost, 'x', 4242);
	lua_pushinteger(L, lost[0]);
	return 1;
}
