package textfmt

import "testing"

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		prec int
		want string
	}{{512, 1, "512 B"}, {1536, 1, "1.5 KiB"}, {3 << 30, 2, "3.00 GiB"}, {5 << 40, 0, "5 TiB"}, {103 << 50 / 10, 1, "10.3 PiB"}, {3 << 60, 1, "3.0 EiB"}} {
		if got := Bytes(c.n, c.prec); got != c.want {
			t.Errorf("Bytes(%d, %d) = %q, want %q", c.n, c.prec, got, c.want)
		}
	}
}

// Estimates beyond int64 (refused sizes) stay readable.
func TestBytesFloat(t *testing.T) {
	for x, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1 << 62: "4.0 EiB", 1e30: "867361737988.4 EiB", 1.5 * (1 << 20): "1.5 MiB"} {
		if got := BytesFloat(x, 1); got != want {
			t.Errorf("BytesFloat(%g) = %q, want %q", x, got, want)
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 842496: "842,496", -1234567: "-1,234,567", 100000: "100,000"} {
		if got := Commas(n); got != want {
			t.Errorf("Commas(%d) = %q, want %q", n, got, want)
		}
	}
}
