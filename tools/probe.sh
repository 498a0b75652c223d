#!/bin/sh
# Writes, on standard output, a header of HAVE_* macros for the optional
# library APIs that palabre uses when present: each one is a try-compile
# and link against the libraries as installed. Debian 12's point releases
# differ (libexpat1-dev 2.5.0-1+deb12u1 lacks the reparse-deferral API
# that later updates backported), so the code asks this, not a version.
# Usage: probe.sh CC [CFLAGS...]
cc="$1"
shift
cflags="$*"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# probe NAME LIBS PROGRAM: defines NAME when PROGRAM compiles and links.
probe() {
	printf '%s\n' "$3" >"$tmp/probe.c"
	if $cc $cflags -Werror=implicit-function-declaration -o "$tmp/probe" "$tmp/probe.c" $2 >/dev/null 2>&1; then
		echo "#define $1 1"
	else
		echo "/* #undef $1 */"
	fi
}

echo "/* Made by tools/probe.sh: optional APIs found at build time. */"
echo "#ifndef PALABRE_HAVE_H"
echo "#define PALABRE_HAVE_H"
# expat >= 2.6.0, or a distribution's backport of it (CVE-2023-52425).
probe HAVE_XML_SETREPARSEDEFERRALENABLED -lexpat '#include <expat.h>
int main(void)
{
	XML_Parser p = XML_ParserCreate(0);
	return XML_SetReparseDeferralEnabled(p, XML_FALSE) != XML_TRUE;
}'
echo "#endif"
