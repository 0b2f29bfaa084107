namespace Hybrid.Vision;

/// <summary>Open-addressing hash from integer lattice keys (d ints each) to dense vertex indices
/// 0, 1, 2, ... in insertion order. Keys live in one flat array; no per-key allocation.</summary>
internal sealed class LatticeHash
{
    readonly int _d;
    int[] _keys;      // (count, d)
    int[] _table;     // vertex index + 1, 0 = empty; length a power of two
    int _shift;       // 64 - log2(table length)
    int _count;

    public LatticeHash(int d, int expected)
    {
        _d = d;
        int cap = 16;
        while (cap < 2 * Math.Max(expected, 8)) cap <<= 1;
        _table = new int[cap];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)cap);
        _keys = new int[Math.Max(expected, 8) * d];
    }

    public int Count => _count;

    /// <summary>The stored key of vertex <paramref name="index"/>.</summary>
    public ReadOnlySpan<int> Key(int index) => new(_keys, index * _d, _d);

    /// <summary>Index of <paramref name="key"/>, inserting it if absent.</summary>
    public int FindOrInsert(ReadOnlySpan<int> key)
    {
        int slot = Lookup(key);
        int found = _table[slot] - 1;
        if (found >= 0) return found;
        if (2 * (_count + 1) > _table.Length)
        {
            Grow();
            slot = Lookup(key);
        }
        if ((_count + 1) * _d > _keys.Length) Array.Resize(ref _keys, _keys.Length * 2);
        key.CopyTo(_keys.AsSpan(_count * _d, _d));
        _table[slot] = ++_count;
        return _count - 1;
    }

    /// <summary>Index of <paramref name="key"/>, or -1 if it was never inserted.</summary>
    public int Find(ReadOnlySpan<int> key) => _table[Lookup(key)] - 1;

    // Slot holding the key, or the empty slot where it would go (linear probing).
    int Lookup(ReadOnlySpan<int> key)
    {
        int mask = _table.Length - 1;
        int slot = (int)(Hash(key) >> _shift);
        while (true)
        {
            int e = _table[slot];
            if (e == 0 || key.SequenceEqual(new ReadOnlySpan<int>(_keys, (e - 1) * _d, _d))) return slot;
            slot = (slot + 1) & mask;
        }
    }

    static ulong Hash(ReadOnlySpan<int> key)
    {
        ulong h = 0x243F6A8885A308D3UL;
        foreach (int k in key) h = (h ^ (uint)k) * 0x9E3779B97F4A7C15UL;
        return h ^ (h >> 29);
    }

    void Grow()
    {
        var old = _table;
        _table = new int[old.Length * 2];
        _shift--;
        int mask = _table.Length - 1;
        foreach (int e in old)
        {
            if (e == 0) continue;
            int slot = (int)(Hash(new ReadOnlySpan<int>(_keys, (e - 1) * _d, _d)) >> _shift);
            while (_table[slot] != 0) slot = (slot + 1) & mask;
            _table[slot] = e;
        }
    }
}
