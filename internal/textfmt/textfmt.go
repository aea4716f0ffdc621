// Package textfmt formats quantities for tformer's reports.
package textfmt

import "strconv"

// Bytes formats a byte count with a binary prefix and prec decimals
// ("1.5 GiB", up to EiB); counts below 1 KiB are printed whole ("512 B").
func Bytes(n int64, prec int) string { return BytesFloat(float64(n), prec) }

// BytesFloat is Bytes for an estimate that may exceed what an int64 holds
// (a refused size: "about 10.3 PiB"); beyond EiB the count stays in EiB.
func BytesFloat(x float64, prec int) string {
	for _, u := range []struct {
		v float64
		s string
	}{{1 << 60, "EiB"}, {1 << 50, "PiB"}, {1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if x >= u.v {
			return strconv.FormatFloat(x/u.v, 'f', prec, 64) + " " + u.s
		}
	}
	return strconv.FormatFloat(x, 'f', 0, 64) + " B"
}

// Commas formats n with thousands separators ("842,496"), the one way every
// tformer command prints a count.
func Commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	b := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		b = append(b, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}
