package textfmt

import "testing"

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		prec int
		want string
	}{{512, 1, "512 B"}, {1536, 1, "1.5 KiB"}, {3 << 30, 2, "3.00 GiB"}, {5 << 40, 0, "5 TiB"}} {
		if got := Bytes(c.n, c.prec); got != c.want {
			t.Errorf("Bytes(%d, %d) = %q, want %q", c.n, c.prec, got, c.want)
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
