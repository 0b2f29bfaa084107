namespace Hybrid.Wsss.Thresholds

/// An immutable first-in-first-out queue that holds at most `Capacity` items: enqueuing into a
/// full queue evicts the oldest item. Two-list representation (amortised O(1) per operation);
/// equality compares capacity and the items in order, not the representation.
[<CustomEquality; NoComparison>]
type BoundedQueue<'T when 'T: equality> =
    private
        { Capacity: int
          /// oldest first
          Front: 'T list
          /// newest first
          Back: 'T list
          Count: int }

    /// Items from oldest to newest.
    member q.Items: 'T list = q.Front @ List.rev q.Back

    override q.Equals(other: obj) =
        match other with
        | :? BoundedQueue<'T> as o -> q.Capacity = o.Capacity && q.Items = o.Items
        | _ -> false

    override q.GetHashCode() = hash (q.Capacity, q.Items)

module BoundedQueue =
    /// An empty queue holding at most `capacity` (>= 1) items.
    let empty<'T when 'T: equality> (capacity: int) : BoundedQueue<'T> =
        if capacity < 1 then
            invalidArg (nameof capacity) (sprintf "A bounded queue needs capacity >= 1, got %d." capacity)
        { Capacity = capacity; Front = []; Back = []; Count = 0 }

    let capacity (q: BoundedQueue<'T>) : int = q.Capacity
    let count (q: BoundedQueue<'T>) : int = q.Count
    let isEmpty (q: BoundedQueue<'T>) : bool = q.Count = 0
    let isFull (q: BoundedQueue<'T>) : bool = q.Count = q.Capacity

    /// Items from oldest to newest.
    let toList (q: BoundedQueue<'T>) : 'T list = q.Items

    /// Removes the oldest item, if any.
    let tryDequeue (q: BoundedQueue<'T>) : ('T * BoundedQueue<'T>) option =
        match q.Front, q.Back with
        | [], [] -> None
        | x :: rest, _ -> Some(x, { q with Front = rest; Count = q.Count - 1 })
        | [], back ->
            match List.rev back with
            | x :: rest -> Some(x, { q with Front = rest; Back = []; Count = q.Count - 1 })
            | [] -> None

    /// Appends an item; when the queue was full, the oldest item is evicted and returned.
    let enqueue (item: 'T) (q: BoundedQueue<'T>) : BoundedQueue<'T> * 'T option =
        let evicted, q =
            if q.Count = q.Capacity then
                match tryDequeue q with
                | Some(x, rest) -> Some x, rest
                | None -> None, q
            else
                None, q
        { q with Back = item :: q.Back; Count = q.Count + 1 }, evicted

    /// Appends an item, dropping the oldest when full.
    let push (item: 'T) (q: BoundedQueue<'T>) : BoundedQueue<'T> = fst (enqueue item q)

    /// A queue of the given capacity holding the last `capacity` items of the list.
    let ofList (capacity: int) (items: 'T list) : BoundedQueue<'T> =
        List.fold (fun q x -> push x q) (empty capacity) items
