using NormSharp.Tensors;

namespace NormSharp.Data;

/// <summary>A labelled image set in memory: pixels scaled to [0, 1], one row of Height·Width features per image.</summary>
public sealed class Dataset
{
    /// <summary>Creates a dataset; <paramref name="images"/> is [count, height·width] and <paramref name="labels"/> holds one class per image.</summary>
    public Dataset(string name, Tensor images, int[] labels, int classes, int height, int width)
    {
        if (images.Rank != 2 || images.Dim(0) != labels.Length || images.Dim(1) != height * width)
            throw new Errors.ShapeMismatchException($"Dataset {name}: images {Errors.ShapeMismatchException.Format(images.Shape)} do not hold {labels.Length} images of {height}×{width}.");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new Errors.InvalidValueException(nameof(labels), $"Dataset {name}: label {labels[i]} of image {i} is outside [0, {classes}).");
        Name = name;
        Images = images;
        Labels = labels;
        Classes = classes;
        Height = height;
        Width = width;
    }

    /// <summary>Name, e.g. <c>mnist-digits/train</c>.</summary>
    public string Name { get; }

    /// <summary>Pixels, [Count, Features].</summary>
    public Tensor Images { get; }

    /// <summary>Class of each image.</summary>
    public int[] Labels { get; }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Image height (rows).</summary>
    public int Height { get; }

    /// <summary>Image width (columns).</summary>
    public int Width { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Features per image (Height·Width).</summary>
    public int Features => Height * Width;

    /// <summary>The first <paramref name="count"/> images (a view, no copy).</summary>
    public Dataset Take(int count)
    {
        count = Math.Clamp(count, 0, Count);
        return new Dataset(Name, Images.Narrow(0, count), Labels[..count], Classes, Height, Width);
    }
}

/// <summary>A training set and a test set of the same kind.</summary>
/// <param name="Train">The training images.</param>
/// <param name="Test">The held-out test images.</param>
public sealed record DatasetSplit(Dataset Train, Dataset Test);
