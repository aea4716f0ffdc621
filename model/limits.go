package model

// MaxRotaryPositions bounds the context of a model with rotary positions as
// loaders accept it. No stored tensor holds rotary positions, so nothing in
// a file bounds the cos and sin tables New allocates for them (positions ×
// head_dim floats); 1,048,576 covers every published Llama-family context
// (Llama 3.1's 131,072, Qwen2.5-1M's 1,010,000).
const MaxRotaryPositions = 1 << 20
