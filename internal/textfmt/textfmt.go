// Package textfmt formats quantities for tformer's reports.
package textfmt

import (
	"fmt"
	"strconv"
)

// Bytes formats a byte count with a binary prefix and prec decimals
// ("1.5 GiB"); counts below 1 KiB are printed whole ("512 B").
func Bytes(n int64, prec int) string {
	x := float64(n)
	for _, u := range []struct {
		v float64
		s string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if x >= u.v {
			return strconv.FormatFloat(x/u.v, 'f', prec, 64) + " " + u.s
		}
	}
	return fmt.Sprintf("%d B", n)
}
