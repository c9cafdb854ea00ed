<?php
/**
 * Shared by the stub test: describes functions and classes of the InventorySync namespace in a
 * comparable shape, whether they come from the extension or from the stub file.
 */

declare(strict_types=1);

/**
 * A comparable description of functions and classes in the InventorySync namespace.
 *
 * @param list<string> $functions
 * @param list<string> $classes
 * @return array{functions: array<string, mixed>, classes: array<string, mixed>}
 */
function inventory_sync_describe_api(array $functions, array $classes): array
{
    $out = ['functions' => [], 'classes' => []];
    foreach ($functions as $name) {
        $f = new \ReflectionFunction($name);
        if (!str_starts_with(strtolower($f->getName()), 'inventorysync\\')) {
            continue;
        }
        $out['functions'][strtolower($f->getName())] = [
            'params' => array_map(static fn (\ReflectionParameter $p) => [
                'name' => $p->getName(),
                'type' => (string) $p->getType(),
                'optional' => $p->isOptional(),
            ], $f->getParameters()),
            'return' => (string) $f->getReturnType(),
        ];
    }
    foreach ($classes as $name) {
        if (!str_starts_with($name, 'InventorySync\\')) {
            continue;
        }
        $c = new \ReflectionClass($name);
        $methods = [];
        foreach ($c->getMethods() as $m) {
            if ($m->getDeclaringClass()->getName() === $name) {
                $methods[$m->getName()] = array_map(static fn (\ReflectionParameter $p) => [$p->getName(), (string) $p->getType(), $p->isOptional()], $m->getParameters());
            }
        }
        ksort($methods);
        $out['classes'][$name] = ['parent' => get_parent_class($name), 'methods' => $methods];
    }
    ksort($out['functions']);
    ksort($out['classes']);
    return $out;
}
