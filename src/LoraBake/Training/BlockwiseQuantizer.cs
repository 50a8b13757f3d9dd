using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// bitsandbytes' block-wise 8-bit quantisation of optimizer state (Dettmers et al., "8-bit Optimizers via
/// Block-wise Quantization"): the tensor is cut into blocks of <see cref="BlockSize"/> values; each block
/// keeps its absolute maximum in fp32 and each value the uint8 index of the nearest entry of a 256-entry
/// dynamic (tree) code in [−1, 1] (or [0, 1] unsigned) for value / absmax. Tensor ops only, so it runs on
/// CPU and GPU alike.
/// </summary>
public sealed class BlockwiseQuantizer
{
    /// <summary>bitsandbytes' block size for 8-bit block-wise optimizers.</summary>
    public const int BlockSize = 256;

    /// <summary>The 256 code values, ascending (fp32).</summary>
    public float[] Code { get; }
    readonly Tensor _code;
    readonly Tensor _midpoints;

    public BlockwiseQuantizer(bool signed)
    {
        Code = DynamicMap(signed);
        _code = tensor(Code);
        _code.DetachFromDisposeScope();
        // Halfway points between neighbouring codes: searchsorted on them is "nearest code".
        _midpoints = tensor(Code.Zip(Code.Skip(1), (a, b) => (a + b) / 2).ToArray());
        _midpoints.DetachFromDisposeScope();
    }

    /// <summary>
    /// bitsandbytes' <c>create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)</c>: for each exponent
    /// i = 0..6, the midpoints of linspace(0.1, 1, n_i + 1) scaled by 10^(i−6), n_i = 2^i (signed, mirrored
    /// to negative) or 2^(i+1) (unsigned); plus 0 and 1, sorted.
    /// </summary>
    public static float[] DynamicMap(bool signed, int maxExponentBits = 7, int totalBits = 8)
    {
        var data = new List<float>();
        int nonSignBits = totalBits - 1;
        for (int i = 0; i < maxExponentBits; i++)
        {
            int fractionItems = signed ? (1 << (i + nonSignBits - maxExponentBits)) + 1 : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
            // torch.linspace in fp32, then the means in fp32, then × 10^k as Python floats → fp32 tensor at the end.
            var boundaries = Linspace(0.1f, 1f, fractionItems);
            double scale = Math.Pow(10, -(maxExponentBits - 1) + i);
            for (int j = 0; j + 1 < boundaries.Length; j++)
            {
                float mean = (boundaries[j] + boundaries[j + 1]) / 2f;
                data.Add((float)(scale * mean));
                if (signed) data.Add((float)(-scale * mean));
            }
        }
        data.Add(0f);
        data.Add(1f);
        while (data.Count < (1 << totalBits)) data.Add(0f);
        data.Sort();
        return [.. data];
    }

    static float[] Linspace(float start, float end, int steps)
    {
        var r = new float[steps];
        for (int i = 0; i < steps; i++) r[i] = steps == 1 ? start : start + (end - start) * i / (steps - 1);
        return r;
    }

    /// <summary>uint8 codes (same shape as <paramref name="x"/>) and per-block absmax (fp32, ceil(n/256) values).</summary>
    public (Tensor Codes, Tensor Absmax) Quantize(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (blocks, n) = Blocks(x);
        var absmax = (Numerics.MetaKernels.IsMeta(blocks) ? Numerics.MetaKernels.Abs(blocks) : blocks.abs()).amax([1]);
        var normalised = blocks / absmax.clamp_min(float.Epsilon).unsqueeze(1);
        var idx = searchsorted(_midpoints.to(x.device), normalised.contiguous()).to(ScalarType.Byte);
        var codes = idx.flatten()[..(int)n].reshape(x.shape);
        return (codes.MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope());
    }

    /// <summary>The fp32 values the codes stand for: code[index] × absmax of the block.</summary>
    public Tensor Dequantize(Tensor codes, Tensor absmax)
    {
        using var scope = NewDisposeScope();
        var (blocks, n) = Blocks(codes.to(ScalarType.Int64));
        var values = _code.to(codes.device)[blocks] * absmax.unsqueeze(1);
        return values.flatten()[..(int)n].reshape(codes.shape).MoveToOuterDisposeScope();
    }

    /// <summary>The tensor flattened and zero-padded to whole blocks: [blocks, 256].</summary>
    static (Tensor Blocks, long N) Blocks(Tensor x)
    {
        long n = x.numel();
        long padded = (n + BlockSize - 1) / BlockSize * BlockSize;
        var flat = x.flatten();
        if (padded != n) flat = nn.functional.pad(flat, [0, padded - n]);
        return (flat.reshape(-1, BlockSize), n);
    }
}
