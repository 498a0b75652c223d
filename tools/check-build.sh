#!/bin/sh
# The build against an expat without the reparse-deferral API
# (XML_SetReparseDeferralEnabled, expat >= 2.6.0 or a distribution's
# backport: Debian 12's first libexpat1-dev, 2.5.0-1+deb12u1, lacks it),
# proved on any machine: copies of expat's headers without the prototype
# and of libexpat.a with the symbol made local, palabred and the XML unit
# tests built against them in DIR (made anew), and those tests run.
# Usage: check-build.sh DIR (make check-build)
set -eu
dir=$1
cc=${CC:-cc}
make=${MAKE:-make}

fail() {
	echo "check-build: $*" >&2
	exit 1
}

rm -rf "$dir"
mkdir -p "$dir/include" "$dir/lib"

# expat.h as the compiler finds it, and its companion header.
header=$(printf '#include <expat.h>\n' | $cc -E -x c - |
	sed -n 's/^# [0-9]* "\(.*\/expat\.h\)".*/\1/p' | head -n 1)
[ -f "$header" ] || fail "expat.h not found (libexpat1-dev)"
cp "$header" "$(dirname "$header")/expat_external.h" "$dir/include/"
# The prototype is two lines: "XMLPARSEAPI(XML_Bool)" and the name.
sed -i '/^XMLPARSEAPI(XML_Bool)$/{N;/XML_SetReparseDeferralEnabled/d;}' \
	"$dir/include/expat.h"
! grep -q XML_SetReparseDeferralEnabled "$dir/include/expat.h" ||
	fail "cannot remove the prototype from $header"

archive=$($cc -print-file-name=libexpat.a)
[ -f "$archive" ] || fail "libexpat.a not found (libexpat1-dev)"
objcopy --localize-symbol=XML_SetReparseDeferralEnabled "$archive" \
	"$dir/lib/libexpat.a"
! nm "$dir/lib/libexpat.a" 2>/dev/null | grep -q ' T XML_SetReparseDeferralEnabled' ||
	fail "XML_SetReparseDeferralEnabled is still exported"

# -L first: the static copy is linked, not the system's shared library.
b="$dir/build"
$make --no-print-directory -j2 B="$b" CFLAGS="-O0 -g -I$dir/include -L$dir/lib" \
	"$b/palabred" "$b/tests/test_xmlstream" "$b/tests/test_xml" >"$dir/build.log" 2>&1 ||
	fail "the build failed: $dir/build.log"
# Linked: palabred does not call the function (it is local in the copy).
grep -q '/\* #undef HAVE_XML_SETREPARSEDEFERRALENABLED \*/' "$b/have.h" ||
	fail "tools/probe.sh found the API that was removed"
CK_FORK=yes "$b/tests/test_xmlstream"
CK_FORK=yes "$b/tests/test_xml"
echo "check-build: palabred builds and parses without expat's reparse-deferral API"
